package images

import (
	"context"
	"io"
	"path/filepath"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/sys/mountinfo"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/snapshots"
)

// Changes lists what the container changed in its filesystem, like
// `docker diff` (see snapshots.Changes).
func (s *Service) Changes(ctx context.Context, containerID string) ([]container.FilesystemChange, error) {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return nil, err
	}
	r, err := s.rootfsRecord(containerID)
	if err != nil {
		return nil, err
	}
	return snapshots.Changes(ctx, filepath.Join(dir, "upper"), s.lowerDirs(r))
}

// RootfsSize returns the size of the container's writable layer (rw) and of
// its whole root filesystem (image layers plus rw).
func (s *Service) RootfsSize(ctx context.Context, containerID string) (rw, total int64, err error) {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return 0, 0, err
	}
	r, err := s.rootfsRecord(containerID)
	if err != nil {
		return 0, 0, err
	}
	rw = snapshots.DirSize(filepath.Join(dir, "upper"))
	layers, err := s.layers.Layers(r.ChainIDs)
	if err != nil {
		return rw, rw, nil
	}
	total = rw
	for _, l := range layers {
		total += l.Size
	}
	return rw, total, nil
}

// Export writes the container's merged root filesystem as a tar stream
// (`docker export`), mounting it for the duration if needed.
func (s *Service) Export(ctx context.Context, containerID string, w io.Writer) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	merged := filepath.Join(dir, "merged")
	mounted, _ := mountinfo.Mounted(merged)
	if !mounted {
		if _, err := s.MountRootfs(ctx, containerID); err != nil {
			return err
		}
		defer s.UnmountRootfs(ctx, containerID)
	}
	return archive.WriteTar(ctx, w, merged, archive.TarOptions{})
}
