package containers

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestWithDomainname(t *testing.T) {
	for _, tc := range []struct{ line, host, domain, want string }{
		{"172.17.0.2\tweb", "web", "example.com", "172.17.0.2\tweb.example.com web"},
		{"172.17.0.2\tweb alias", "web", "example.com", "172.17.0.2\tweb.example.com web alias"},
		{"172.17.0.2\tweb", "web", "", "172.17.0.2\tweb"},
		{"172.17.0.3\tother", "web", "example.com", "172.17.0.3\tother"},
	} {
		if got := withDomainname(tc.line, tc.host, tc.domain); got != tc.want {
			t.Errorf("withDomainname(%q): %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestParseExtraHost(t *testing.T) {
	for _, tc := range []struct{ in, name, ip string }{
		{"db:10.0.0.1", "db", "10.0.0.1"},
		{"db=10.0.0.1", "db", "10.0.0.1"},
		{"v6:::1", "v6", "::1"},
		{"v6=[::1]", "v6", "::1"},
		{"gw:host-gateway", "gw", "host-gateway"},
	} {
		n, ip, err := parseExtraHost(tc.in)
		if err != nil || n != tc.name || ip != tc.ip {
			t.Errorf("%q: %q %q %v", tc.in, n, ip, err)
		}
	}
	for _, bad := range []string{"nocolon", ":1.2.3.4", "x:not-an-ip", "x="} {
		if _, _, err := parseExtraHost(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRefuseUnapplied(t *testing.T) {
	five := int64(5)
	for _, tc := range []struct {
		hc   container.HostConfig
		cfg  container.Config
		want string
	}{
		{hc: container.HostConfig{Resources: container.Resources{DeviceRequests: []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}}}, want: `could not select device driver "" with capabilities: [[gpu]]`},
		{hc: container.HostConfig{StorageOpt: map[string]string{"size": "1G"}}, want: "storage-opt"},
		{hc: container.HostConfig{CgroupnsMode: "weird"}, want: "invalid cgroup namespace mode: weird"},
		{hc: container.HostConfig{Resources: container.Resources{BlkioWeight: 300}}, want: "HostConfig.BlkioWeight"},
		{hc: container.HostConfig{Resources: container.Resources{DeviceCgroupRules: []string{"c 1:3 mr"}}}, want: "HostConfig.DeviceCgroupRules"},
		{hc: container.HostConfig{Resources: container.Resources{CgroupParent: "../../x"}}, want: "must not contain"},
		{hc: container.HostConfig{UsernsMode: "private"}, want: "UsernsMode"},
		{hc: container.HostConfig{Isolation: "vm"}, want: "Invalid isolation"},
		{hc: container.HostConfig{Resources: container.Resources{MemorySwap: 1 << 30}}, want: "Memory limit"},
		{hc: container.HostConfig{Resources: container.Resources{MemorySwappiness: &five}}, want: ""},
		{cfg: container.Config{NetworkDisabled: true}, want: "Config.NetworkDisabled"},
		{hc: container.HostConfig{CgroupnsMode: "private", Resources: container.Resources{CgroupParent: "/mine"}}, want: ""},
		{hc: container.HostConfig{PidMode: "container:db"}, want: "--pid container:db is not supported"},
		{hc: container.HostConfig{PidMode: "weird"}, want: "invalid PID mode: weird"},
		{hc: container.HostConfig{PidMode: "host", IpcMode: "shareable"}, want: ""},
		{hc: container.HostConfig{IpcMode: "private"}, want: ""},
		{hc: container.HostConfig{IpcMode: "container:db"}, want: "--ipc container:db is not supported"},
		{hc: container.HostConfig{IpcMode: "none"}, want: "--ipc none is not supported"},
		{hc: container.HostConfig{IpcMode: "weird"}, want: "invalid IPC mode: weird"},
	} {
		err := refuseUnapplied(&tc.cfg, &tc.hc, t.TempDir())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v refused: %v", tc.hc, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.hc, err, tc.want)
		}
	}
}
