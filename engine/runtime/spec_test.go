package runtime

import (
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCapabilities(t *testing.T) {
	caps, err := Capabilities(&container.HostConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bound := boundingSet()
	for _, c := range DefaultCapabilities {
		if (bound == nil || bound[c]) && !slices.Contains(caps, c) {
			t.Errorf("default set lacks %s", c)
		}
	}
	if slices.Contains(caps, "CAP_SYS_ADMIN") {
		t.Error("CAP_SYS_ADMIN is not a default")
	}
	caps, _ = Capabilities(&container.HostConfig{CapDrop: []string{"ALL"}, CapAdd: []string{"net_admin"}})
	if len(caps) > 1 || (len(caps) == 1 && caps[0] != "CAP_NET_ADMIN") {
		t.Errorf("drop ALL + add net_admin = %v", caps)
	}
	caps, _ = Capabilities(&container.HostConfig{CapDrop: []string{"CHOWN"}})
	if slices.Contains(caps, "CAP_CHOWN") {
		t.Error("CHOWN not dropped")
	}
	if _, err := Capabilities(&container.HostConfig{CapAdd: []string{"CAP_NOPE"}}); err == nil {
		t.Error("unknown capability accepted")
	}
	caps, _ = Capabilities(&container.HostConfig{Privileged: true})
	for _, c := range caps {
		if bound != nil && !bound[c] {
			t.Errorf("privileged asks for %s, outside berthd's bounding set", c)
		}
	}
}

func TestBuildSpecDefaults(t *testing.T) {
	s, err := BuildSpec(SpecOptions{
		ID: "abc", Rootfs: "/rootfs",
		Config:     &container.Config{Hostname: "h", Tty: true},
		HostConfig: &container.HostConfig{NetworkMode: "bridge"},
		Args:       []string{"sh"}, NetNSPath: "/run/netns/abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != ociVersion || s.Process.Cwd != "/" || !s.Process.Terminal || s.Hostname != "h" {
		t.Fatalf("spec basics: %+v", s.Process)
	}
	if s.Linux.CgroupsPath != "/berth/abc" {
		t.Errorf("cgroups path %q", s.Linux.CgroupsPath)
	}
	var netns *specs.LinuxNamespace
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
			netns = &s.Linux.Namespaces[i]
		}
	}
	if netns == nil || netns.Path != "/run/netns/abc" {
		t.Errorf("network namespace = %+v", netns)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Error("masked/read-only paths missing")
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction == "" {
		t.Error("no default seccomp profile")
	}

	s, err = BuildSpec(SpecOptions{ID: "abc", Rootfs: "/r", Config: &container.Config{},
		HostConfig: &container.HostConfig{NetworkMode: "host", SecurityOpt: []string{"seccomp=unconfined", "no-new-privileges"}},
		Args:       []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace || ns.Type == specs.UTSNamespace {
			t.Errorf("host mode keeps a %s namespace", ns.Type)
		}
	}
	if s.Linux.Seccomp != nil || !s.Process.NoNewPrivileges {
		t.Error("security opts not applied")
	}
	if _, err := BuildSpec(SpecOptions{ID: "a", Rootfs: "/r", Config: &container.Config{}, HostConfig: &container.HostConfig{SecurityOpt: []string{"bogus=1"}}, Args: []string{"x"}}); err == nil {
		t.Error("bogus security opt accepted")
	}
}

func TestRootfsPropagation(t *testing.T) {
	bind := func(prop string) specs.Mount {
		return specs.Mount{Type: "bind", Options: []string{"rbind", "rw", prop}}
	}
	for _, tc := range []struct {
		mounts []specs.Mount
		want   string
	}{
		{nil, ""},
		{[]specs.Mount{bind("rprivate")}, ""},
		{[]specs.Mount{bind("rslave")}, "rslave"},
		{[]specs.Mount{bind("slave"), bind("rprivate")}, "rslave"},
		{[]specs.Mount{bind("rslave"), bind("rshared")}, "rshared"},
		{[]specs.Mount{bind("shared")}, "rshared"},
	} {
		if got := rootfsPropagation(tc.mounts); got != tc.want {
			t.Errorf("rootfsPropagation(%v) = %q, want %q", tc.mounts, got, tc.want)
		}
	}
}

func TestRequestedCapsSets(t *testing.T) {
	for _, tc := range []struct {
		hc   container.HostConfig
		want []string
	}{
		{container.HostConfig{}, DefaultCapabilities},
		{container.HostConfig{CapAdd: []string{"ALL"}, CapDrop: []string{"chown"}}, AllCapabilities},
		{container.HostConfig{CapDrop: []string{"ALL"}}, nil},
		{container.HostConfig{CapDrop: []string{"ALL"}, CapAdd: []string{" sys_admin", "CAP_KILL"}}, []string{"CAP_KILL", "CAP_SYS_ADMIN"}},
	} {
		got, err := requestedCaps(&tc.hc)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(tc.want)
		slices.SortFunc(want, func(a, b string) int {
			return slices.Index(AllCapabilities, a) - slices.Index(AllCapabilities, b)
		})
		if !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("add %v drop %v: %v, want %v", tc.hc.CapAdd, tc.hc.CapDrop, got, want)
		}
	}
	if _, err := requestedCaps(&container.HostConfig{CapDrop: []string{"CAP_NOPE"}}); err == nil {
		t.Error("unknown capability to drop accepted")
	}
}
