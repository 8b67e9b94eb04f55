package archive

import (
	"io/fs"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/engine/archive/securefs"
	"github.com/berth-dev/berth/engine/mounts"
)

// StatPath describes path in the container (HEAD archive). Like Docker, the
// last component is not followed: a symlink is reported as one, with
// LinkTarget its fully resolved absolute path inside the container.
func StatPath(rootfs string, mps []mounts.MountPoint, p string) (*container.PathStat, error) {
	v, err := openView(rootfs, mps)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	st, e, err := stat(v, p)
	if err != nil {
		return nil, err
	}
	e.Close()
	return st, nil
}

// stat walks p (not following the last symlink) and returns its PathStat and
// entry; the caller closes the entry.
func stat(v *securefs.View, p string) (*container.PathStat, *securefs.Entry, error) {
	abs := absPath(p)
	e, err := v.Walk(abs, securefs.WalkOptions{})
	if err != nil {
		return nil, nil, walkErr(p, err)
	}
	if !e.Exists() {
		e.Close()
		return nil, nil, notFound(p)
	}
	ps := &container.PathStat{
		Name:  baseName(abs),
		Size:  e.Stat.Size,
		Mode:  fileMode(&e.Stat),
		Mtime: time.Unix(e.Stat.Mtim.Unix()),
	}
	if ps.Mode&fs.ModeSymlink != 0 {
		if t, err := v.Walk(abs, securefs.WalkOptions{FollowLast: true}); err == nil {
			ps.LinkTarget = t.Path
			t.Close()
		}
	}
	return ps, e, nil
}
