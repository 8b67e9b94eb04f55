package runtime

import (
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// PlainState is the runtime's state directory of container id when all
// the runtime's delete does for the stopped container is remove it and
// the container's cgroup directories (CgroupDirs): crun and runc as
// berthd runs them (its --root, no other global flag, so the cgroupfs
// driver) for a spec that PlainDelete accepts. Otherwise (runsc, a
// configured runtime or flags) it is "". The monitor then removes them
// itself (monitor.Config.RuntimeState) instead of running the runtime.
func (r *Runtime) PlainState(id string) string {
	if r.Root == "" || len(r.Args) > 0 || isRunsc(r.Name, r.Path) {
		return ""
	}
	switch filepath.Base(r.Path) {
	case "crun", "runc":
		return filepath.Join(r.Root, id)
	}
	return ""
}

// PlainDelete reports whether the delete of a stopped container of spec
// only removes its cgroups and state (crun's container_delete_internal,
// runc's destroy): no poststop hooks to run, no Intel RDT group, and a
// pid namespace of its own, so that no process of the container is left
// once its init was reaped (without one, the delete kills what is left
// in the cgroup).
func PlainDelete(spec *specs.Spec) bool {
	if spec.Hooks != nil || spec.Linux == nil || spec.Linux.IntelRdt != nil || !filepath.IsAbs(spec.Linux.CgroupsPath) {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return ns.Path == ""
		}
	}
	return false
}
