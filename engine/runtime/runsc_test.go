package runtime

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/moby/moby/api/types/container"
)

func TestNormalizeIsolation(t *testing.T) {
	for in, want := range map[string]string{"": "", "default": "", "process": "process", "sandbox": "sandbox", "hyperv": "sandbox", "HyperV": "sandbox"} {
		got, err := NormalizeIsolation(in)
		if err != nil || got != want {
			t.Errorf("NormalizeIsolation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeIsolation("vm"); err == nil || !strings.Contains(err.Error(), "Invalid isolation") {
		t.Errorf("NormalizeIsolation(vm): want Invalid isolation, got %v", err)
	}
}

func FuzzNormalizeIsolation(f *testing.F) {
	for _, s := range []string{"", "default", "process", "hyperv", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeIsolation(s)
		if err == nil && got != "" && got != IsolationProcess && got != IsolationSandbox {
			t.Fatalf("NormalizeIsolation(%q) = %q", s, got)
		}
	})
}

func TestCheckSandbox(t *testing.T) {
	one := int64(1)
	for _, tc := range []struct {
		hc   container.HostConfig
		want string
	}{
		{container.HostConfig{}, ""},
		{container.HostConfig{NetworkMode: "bridge"}, ""},
		{container.HostConfig{Privileged: true}, "--privileged"},
		{container.HostConfig{PidMode: "host"}, "--pid=host"},
		{container.HostConfig{IpcMode: "host"}, "--ipc=host"},
		{container.HostConfig{NetworkMode: "host"}, "--network=host"},
		{container.HostConfig{NetworkMode: "container:x"}, "--network=container:"},
		{container.HostConfig{Resources: container.Resources{Memory: 1 << 26}}, "resource limits"},
		{container.HostConfig{Resources: container.Resources{PidsLimit: &one}}, "resource limits"},
		{container.HostConfig{Resources: container.Resources{Devices: []container.DeviceMapping{{PathOnHost: "/dev/null"}}}}, "--device"},
	} {
		err := CheckSandbox(&tc.hc)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckSandbox(%+v) = %v, want %q", tc.hc, err, tc.want)
		}
	}
}

// A runtime whose binary is runsc gets runsc's verbs whatever its name;
// others get runc's command line.
func TestNewRuntimeKind(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		sandbox    bool
	}{
		{"crun", "/usr/bin/crun", false},
		{"runc", "/usr/bin/runc", false},
		{RunscName, "/usr/local/bin/runsc", true},
		{"gvisor", "/opt/bin/runsc", true},
	} {
		r := newRuntime(tc.name, tc.path, nil, "/run/x")
		_, isRunsc := r.Runtime.(*oci.Runsc)
		_, isCLI := r.Runtime.(*oci.CLI)
		if isRunsc != tc.sandbox || isCLI == tc.sandbox {
			t.Errorf("%s (%s): verbs %T, sandbox want %v", tc.name, tc.path, r.Runtime, tc.sandbox)
		}
		if _, err := r.sandbox(); (err == nil) != tc.sandbox {
			t.Errorf("%s: sandbox() err = %v", tc.name, err)
		}
	}
}
