package archive

import (
	"archive/tar"
	"context"
	"io"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/engine/mounts"
)

// StatWriter is a writer that wants the PathStat before the first byte: the
// API handler implements it to send X-Docker-Container-Path-Stat as a header
// before the tar body. CopyOut calls SetPathStat exactly once, before any
// Write, and only when the path exists.
type StatWriter interface {
	io.Writer
	SetPathStat(*container.PathStat)
}

// CopyOut writes a tar of path (GET archive), as Docker does: a file or a
// symlink (not followed: `cp -L` asks for its LinkTarget next) is one entry
// named after the path's base; a folder is that name and everything below,
// "dir/." names the entries "./..." so the client copies the content only.
// Mounts inside the folder are included, as the container sees them.
// It returns the path's stat (also given to w first if w is a StatWriter).
func CopyOut(ctx context.Context, rootfs string, mps []mounts.MountPoint, path string, w io.Writer) (*container.PathStat, error) {
	v, err := openView(rootfs, mps)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	st, e, err := stat(v, path)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if sw, ok := w.(StatWriter); ok {
		sw.SetPathStat(st)
	}
	tw := tar.NewWriter(w)
	if err := v.WriteTar(ctx, e, st.Name, tw); err != nil {
		return st, err
	}
	return st, tw.Close()
}
