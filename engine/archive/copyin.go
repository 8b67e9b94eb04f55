package archive

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/berth-dev/berth/engine/archive/securefs"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
	cerrdefs "github.com/containerd/errdefs"
)

// CopyInOptions tune CopyInWithOptions.
type CopyInOptions struct {
	// NoOverwriteDirNonDir refuses to replace a folder by a non-folder or
	// the reverse (the API's noOverwriteDirNonDir, set by the docker CLI
	// unless told otherwise).
	NoOverwriteDirNonDir bool
	// Chown owns every extracted entry (Docker's `cp -a` into a container
	// with a Config.User); nil keeps the uid/gid of the tar headers, which
	// is what Docker does otherwise.
	Chown *securefs.IDPair
	// ReadOnlyRootfs refuses writes outside the mounts (--read-only).
	ReadOnlyRootfs bool
	// MaxBytes caps the file content written (0: securefs.DefaultMaxBytes).
	MaxBytes int64
}

// CopyIn extracts the tar r into the folder path of the container (PUT
// archive). A symlink as the last component is followed, inside the
// container (Docker's rule: extracting "to a symlink to a folder" works).
// copyUIDGID keeps the header ownership (the default does too, as Docker's
// daemon does; use CopyInWithOptions to own entries by the container's user).
func CopyIn(ctx context.Context, rootfs string, mps []mounts.MountPoint, path string, r io.Reader, noOverwriteDirNonDir, copyUIDGID bool) error {
	return CopyInWithOptions(ctx, rootfs, mps, path, r, CopyInOptions{NoOverwriteDirNonDir: noOverwriteDirNonDir})
}

// CopyInWithOptions is CopyIn with every knob.
func CopyInWithOptions(ctx context.Context, rootfs string, mps []mounts.MountPoint, path string, r io.Reader, opts CopyInOptions) error {
	v, err := openView(rootfs, mps)
	if err != nil {
		return err
	}
	defer v.Close()
	v.SetRootReadOnly(opts.ReadOnlyRootfs)
	e, err := v.Walk(absPath(path), securefs.WalkOptions{FollowLast: true})
	if err != nil {
		return walkErr(path, err)
	}
	defer e.Close()
	if !e.Exists() {
		return notFound(path)
	}
	if !e.IsDir() {
		return errdefs.Invalid("extraction point is not a directory")
	}
	if err := e.ReadOnlyErr(); err != nil {
		return errdefs.Classify(cerrdefs.ErrInvalidArgument, err)
	}
	root := os.Geteuid() == 0
	err = v.Extract(ctx, e.Path, r, securefs.ExtractOptions{
		NoOverwriteDirNonDir: opts.NoOverwriteDirNonDir,
		Chown:                opts.Chown,
		NoChown:              !root,
		AllowDevices:         root,
		MaxBytes:             opts.MaxBytes,
	})
	var be *securefs.BreakoutError
	var ae *securefs.ArchiveError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be), errors.As(err, &ae), errors.Is(err, securefs.ErrReadOnly), errors.Is(err, securefs.ErrReadOnlyRoot):
		return errdefs.Classify(cerrdefs.ErrInvalidArgument, err)
	}
	return err
}
