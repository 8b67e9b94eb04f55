package container

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"
)

func parseArgs(t *testing.T, args ...string) (*containerConfig, error) {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	o := addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	rest := fs.Args()
	o.image, o.args = rest[0], rest[1:]
	return o.parse()
}

func TestParseRunFlags(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("FROMFILE=1\n"), 0o600)
	cc, err := parseArgs(t,
		"-i", "-t", "--name", "x", "-e", "A=1", "--env-file", envFile, "-w", "/work", "-u", "1000:1000",
		"--entrypoint", "/bin/sh", "-h", "myhost", "-l", "k=v", "--init", "--stop-signal", "SIGUSR1",
		"--stop-timeout", "7", "--runtime", "runc", "--privileged", "--cap-add", "net_admin", "--read-only",
		"--network", "host", "-p", "8080:80", "-v", "/data", "-v", "/src:/dst:ro", "--mount", "type=tmpfs,target=/t",
		"--tmpfs", "/run:size=1m", "--restart", "on-failure:2", "--dns", "1.1.1.1", "--add-host", "h:1.2.3.4",
		"--ulimit", "nofile=10:20", "--security-opt", "no-new-privileges", "--group-add", "audio",
		"--device", "/dev/null:/dev/x", "--log-driver", "json-file", "--log-opt", "max-size=1m",
		"-m", "64m", "--cpus", "0.5", "--pids-limit", "100",
		"busybox", "echo", "-n", "hi")
	if err != nil {
		t.Fatal(err)
	}
	c, h := cc.Config, cc.HostConfig
	if c.Image != "busybox" || !reflect.DeepEqual(c.Cmd, []string{"echo", "-n", "hi"}) {
		t.Errorf("image/cmd: %q %q", c.Image, c.Cmd)
	}
	if !c.Tty || !c.OpenStdin || !c.AttachStdin || !c.AttachStdout || !c.AttachStderr || !c.StdinOnce {
		t.Errorf("stdio flags: %+v", c)
	}
	if !reflect.DeepEqual(c.Env, []string{"FROMFILE=1", "A=1"}) {
		t.Errorf("env %q", c.Env)
	}
	if c.WorkingDir != "/work" || c.User != "1000:1000" || c.Hostname != "myhost" || c.StopSignal != "SIGUSR1" ||
		c.StopTimeout == nil || *c.StopTimeout != 7 || !reflect.DeepEqual(c.Entrypoint, []string{"/bin/sh"}) || c.Labels["k"] != "v" {
		t.Errorf("config: %+v", c)
	}
	if _, ok := c.Volumes["/data"]; !ok || !reflect.DeepEqual(h.Binds, []string{"/src:/dst:ro"}) {
		t.Errorf("volumes %v binds %v", c.Volumes, h.Binds)
	}
	if h.Init == nil || !*h.Init || h.Runtime != "runc" || !h.Privileged || !h.ReadonlyRootfs || h.NetworkMode != "host" {
		t.Errorf("hostconfig: %+v", h)
	}
	if b := h.PortBindings[network.MustParsePort("80/tcp")]; len(b) != 1 || b[0].HostPort != "8080" {
		t.Errorf("ports %v", h.PortBindings)
	}
	if len(h.Mounts) != 1 || h.Mounts[0].Target != "/t" || h.Tmpfs["/run"] != "size=1m" {
		t.Errorf("mounts %v tmpfs %v", h.Mounts, h.Tmpfs)
	}
	if h.RestartPolicy.Name != container.RestartPolicyOnFailure || h.RestartPolicy.MaximumRetryCount != 2 {
		t.Errorf("restart %+v", h.RestartPolicy)
	}
	if len(h.DNS) != 1 || h.DNS[0].String() != "1.1.1.1" || h.ExtraHosts[0] != "h:1.2.3.4" || h.GroupAdd[0] != "audio" {
		t.Errorf("dns/hosts/groups %v %v %v", h.DNS, h.ExtraHosts, h.GroupAdd)
	}
	if len(h.Ulimits) != 1 || h.Ulimits[0].Hard != 20 || h.Devices[0].PathInContainer != "/dev/x" || h.SecurityOpt[0] != "no-new-privileges" {
		t.Errorf("ulimits/devices/secopt %v %v %v", h.Ulimits, h.Devices, h.SecurityOpt)
	}
	if h.LogConfig.Type != "json-file" || h.LogConfig.Config["max-size"] != "1m" {
		t.Errorf("log %+v", h.LogConfig)
	}
	if h.Memory != 64<<20 || h.NanoCPUs != 5e8 || h.PidsLimit == nil || *h.PidsLimit != 100 {
		t.Errorf("resources %+v", h.Resources)
	}
	if h.CapAdd[0] != "net_admin" {
		t.Errorf("capadd %v", h.CapAdd)
	}
}

func TestParseDefaults(t *testing.T) {
	cc, err := parseArgs(t, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	c, h := cc.Config, cc.HostConfig
	if c.AttachStdin || !c.AttachStdout || !c.AttachStderr || c.OpenStdin || c.StdinOnce || c.Entrypoint != nil {
		t.Errorf("defaults: %+v", c)
	}
	if h.Init != nil || h.PidsLimit != nil || c.StopTimeout != nil || h.NetworkMode != "default" || h.RestartPolicy.Name != "no" {
		t.Errorf("defaults: %+v", h)
	}
	cc, _ = parseArgs(t, "--entrypoint", "", "-a", "stdout", "--network", "mynet", "busybox")
	if !reflect.DeepEqual(cc.Config.Entrypoint, []string{""}) || cc.Config.AttachStderr || !cc.Config.AttachStdout {
		t.Errorf("entrypoint reset / attach: %+v", cc.Config)
	}
	if _, ok := cc.NetworkingConfig.EndpointsConfig["mynet"]; !ok {
		t.Errorf("user network endpoint missing: %+v", cc.NetworkingConfig)
	}
	for _, bad := range [][]string{{"-a", "foo"}, {"--restart", "bogus"}, {"-p", "x:y:z:w"}, {"--dns", "notip"}, {"-m", "lots"}, {"--no-healthcheck", "--health-cmd", "true"}} {
		if _, err := parseArgs(t, append(bad, "busybox")...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// run and create take the same limit flags as update (limitFlags): each
// reaches the host config, and no pids limit is sent unless given.
func TestParseRunLimitFlags(t *testing.T) {
	cc, err := parseArgs(t, "--memory-reservation", "32m", "--memory-swap", "-1", "--cpu-shares", "512",
		"--cpu-period", "100000", "--cpu-quota", "50000", "--cpu-rt-period", "1000", "--cpu-rt-runtime", "500",
		"--cpuset-cpus", "0", "--cpuset-mems", "0", "--blkio-weight", "300", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	r := cc.HostConfig.Resources
	if r.MemoryReservation != 32<<20 || r.MemorySwap != -1 || r.CPUShares != 512 || r.CPUPeriod != 100000 ||
		r.CPUQuota != 50000 || r.CPURealtimePeriod != 1000 || r.CPURealtimeRuntime != 500 ||
		r.CpusetCpus != "0" || r.CpusetMems != "0" || r.BlkioWeight != 300 || r.PidsLimit != nil {
		t.Errorf("resources %+v", r)
	}
	if _, err := parseArgs(t, "--memory-swap", "lots", "busybox"); err == nil {
		t.Error("--memory-swap lots accepted")
	}
}
