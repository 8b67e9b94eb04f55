package runtime

import (
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// The monitor opens the exec fifo itself only where that is all the
// runtime's start does: crun as berthd runs it, no poststart hooks, no
// notify socket.
func TestExecFifo(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	crun := &Runtime{Name: "crun", Path: "/usr/bin/crun", Root: "/run/b/crun"}
	plain := &specs.Spec{}
	if got := crun.ExecFifo("c1", plain); got != "/run/b/crun/c1/exec.fifo" {
		t.Errorf("crun: %q", got)
	}
	if got := crun.ExecFifo("c1", &specs.Spec{Hooks: &specs.Hooks{Prestart: []specs.Hook{{Path: "/x"}}}}); got == "" {
		t.Error("crun with only prestart hooks: no fifo, want one (the start runs no prestart hook)")
	}
	for name, c := range map[string]struct {
		rt   *Runtime
		spec *specs.Spec
	}{
		"runc (its fifo works the other way round)": {&Runtime{Name: "runc", Path: "/usr/bin/runc", Root: "/r"}, plain},
		"runsc":             {&Runtime{Name: "runsc", Path: "/usr/bin/runsc", Root: "/r"}, plain},
		"crun with args":    {&Runtime{Name: "crun", Path: "/usr/bin/crun", Root: "/r", Args: []string{"--systemd-cgroup"}}, plain},
		"crun without root": {&Runtime{Name: "crun", Path: "/usr/bin/crun"}, plain},
		"poststart hooks":   {crun, &specs.Spec{Hooks: &specs.Hooks{Poststart: []specs.Hook{{Path: "/x"}}}}},
	} {
		if got := c.rt.ExecFifo("c1", c.spec); got != "" {
			t.Errorf("%s: %q, want none", name, got)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	if got := crun.ExecFifo("c1", plain); got != "" {
		t.Errorf("with NOTIFY_SOCKET: %q, want none (the start waits for readiness)", got)
	}
}
