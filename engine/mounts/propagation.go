package mounts

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"

	"github.com/berth-dev/berth/internal/errdefs"
)

// needsShared and needsSlave tell what a bind propagation mode asks of the
// mount its source sits on: a shared bind only works if host mounts under
// the source propagate (shared peer group), a slave one if they reach it at
// all (shared or slave), as Docker checks.
func needsShared(prop string) bool { return prop == "shared" || prop == "rshared" }
func needsSlave(prop string) bool  { return prop == "slave" || prop == "rslave" }

// sourceMount returns the mount (of infos) that path sits on: the one with
// the longest mount point that is path or one of its parents. path must be
// absolute and clean, symlinks resolved.
func sourceMount(infos []*mountinfo.Info, path string) *mountinfo.Info {
	var best *mountinfo.Info
	for _, m := range infos {
		if m.Mountpoint != "/" && path != m.Mountpoint && !strings.HasPrefix(path, m.Mountpoint+"/") {
			continue
		}
		// Later lines win on equal mount points: they are mounted on top.
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	return best
}

// isShared and isSlave read mountinfo's optional fields ("shared:N",
// "master:N").
func isShared(m *mountinfo.Info) bool { return hasOptField(m.Optional, "shared:") }
func isSlave(m *mountinfo.Info) bool  { return hasOptField(m.Optional, "master:") }

func hasOptField(optional, prefix string) bool {
	for _, f := range strings.Fields(optional) {
		if strings.HasPrefix(f, prefix) {
			return true
		}
	}
	return false
}

// checkPropagation refuses a shared (slave) bind whose source is not on a
// shared (shared or slave) mount, with Docker's message: the container
// would never see mounts made under the source after it starts.
func checkPropagation(infos []*mountinfo.Info, source, prop string) error {
	if !needsShared(prop) && !needsSlave(prop) {
		return nil
	}
	m := sourceMount(infos, source)
	if m == nil {
		return fmt.Errorf("could not find source mount of %s", source)
	}
	if needsShared(prop) && !isShared(m) {
		return errdefs.Invalid("path %s is mounted on %s but it is not a shared mount", source, m.Mountpoint)
	}
	if needsSlave(prop) && !isShared(m) && !isSlave(m) {
		return errdefs.Invalid("path %s is mounted on %s but it is not a shared or slave mount", source, m.Mountpoint)
	}
	return nil
}

// checkBindPropagation checks a bind mount point's propagation against the
// host's mount table (read only when a mode needs it).
func checkBindPropagation(mp *MountPoint) error {
	if !needsShared(mp.Propagation) && !needsSlave(mp.Propagation) {
		return nil
	}
	src, err := filepath.EvalSymlinks(mp.Source)
	if err != nil {
		return fmt.Errorf("bind source %s: %w", mp.Source, err)
	}
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		return fmt.Errorf("read mount table: %w", err)
	}
	return checkPropagation(infos, filepath.Clean(src), mp.Propagation)
}
