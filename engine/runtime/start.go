package runtime

import (
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ExecFifo is the exec fifo of container id when all the runtime's start
// of a created container of spec does is open it for writing, remove it
// and write a byte (crun's libcrun_container_start, as berthd runs it:
// its --root and no other global flag; no poststart hooks to run; no
// NOTIFY_SOCKET in the environment the runtime inherits, whose readiness
// the start would wait for). The monitor then does that itself
// (monitor.Config.ExecFifo) instead of running the runtime. Otherwise
// (runc, whose fifo works the other way round; runsc; hooks) it is "".
func (r *Runtime) ExecFifo(id string, spec *specs.Spec) string {
	if r.Root == "" || len(r.Args) > 0 || isRunsc(r.Name, r.Path) || filepath.Base(r.Path) != "crun" {
		return ""
	}
	if spec.Hooks != nil && len(spec.Hooks.Poststart) > 0 {
		return ""
	}
	if os.Getenv("NOTIFY_SOCKET") != "" {
		return ""
	}
	return filepath.Join(r.Root, id, "exec.fifo")
}
