package containers

import (
	"context"
	"errors"
	evtypes "github.com/moby/moby/api/types/events"
	"io"

	"github.com/berth-dev/berth/engine/archive"
	"github.com/berth-dev/berth/engine/archive/securefs"
	imgarchive "github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
)

// withRootfs runs fn with the container's root mounted (mounting it for the
// duration when the container is stopped) and its mount points resolved.
func (s *Service) withRootfs(ctx context.Context, ref string, fn func(c *Container, rootfs string, mps []mounts.MountPoint) error) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	// A path under a volume must be the volume's own folder; the
	// prepared container's mounts would hide what is copied.
	s.discardPrep(e)
	c := e.c
	running := c.State.Running()
	e.mu.Unlock()
	rootfs, err := s.images.MountRootfs(ctx, c.ID)
	if err != nil {
		return err
	}
	if !running {
		defer func() {
			e.mu.Lock()
			if !e.c.State.Running() {
				s.images.UnmountRootfs(context.Background(), c.ID)
			}
			e.mu.Unlock()
		}()
	}
	var mps []mounts.MountPoint
	for _, mp := range c.MountPoints {
		if mp.Type == mounts.TypeVolume && mp.Source == "" {
			p, err := s.vols.Mountpoint(ctx, mp.Name)
			if err != nil {
				continue // never created: the image's folder shows through
			}
			mp.Source = p
		}
		mps = append(mps, mp)
	}
	err = fn(&c, rootfs, mps)
	var nf *archive.NotFoundError
	if errors.As(err, &nf) {
		nf.Container = ref // the name the user gave, as Docker says it
	}
	return err
}

// ArchiveStat describes a path in the container (HEAD archive).
func (s *Service) ArchiveStat(ctx context.Context, ref, path string) (*container.PathStat, error) {
	var st *container.PathStat
	err := s.withRootfs(ctx, ref, func(c *Container, rootfs string, mps []mounts.MountPoint) error {
		var err error
		st, err = archive.StatPath(rootfs, mps, path)
		return err
	})
	return st, err
}

// ArchiveGet writes a tar of a path in the container (docker cp out).
func (s *Service) ArchiveGet(ctx context.Context, ref, path string, w io.Writer) error {
	return s.withRootfs(ctx, ref, func(c *Container, rootfs string, mps []mounts.MountPoint) error {
		if _, err := archive.CopyOut(ctx, rootfs, mps, path, w); err != nil {
			return err
		}
		s.emit(c, evtypes.ActionArchivePath, map[string]string{"path": path})
		return nil
	})
}

// ArchivePut extracts a tar into a folder of the container (docker cp in).
// With copyUIDGID and a container user, entries are owned by that user, as
// Docker's `cp -a` does.
//
// The tar may be compressed (gzip, bzip2, xz or zstd, told by its magic
// bytes, as dockerd accepts it); the uncompressed stream is capped at the
// extractor's content cap.
func (s *Service) ArchivePut(ctx context.Context, ref, path string, r io.Reader, noOverwriteDirNonDir, copyUIDGID bool) error {
	return s.withRootfs(ctx, ref, func(c *Container, rootfs string, mps []mounts.MountPoint) error {
		rd, _, err := imgarchive.DecompressLimited(r, securefs.DefaultMaxBytes)
		if err != nil {
			return errdefs.Invalid("%s", err.Error())
		}
		defer rd.Close()
		opts := archive.CopyInOptions{NoOverwriteDirNonDir: noOverwriteDirNonDir, ReadOnlyRootfs: c.HostConfig.ReadonlyRootfs}
		if copyUIDGID && c.Config.User != "" {
			u, err := resolveUser(rootfs, c.Config.User, nil)
			if err != nil {
				return err
			}
			opts.Chown = &securefs.IDPair{UID: int(u.UID), GID: int(u.GID)}
		}
		if err := archive.CopyInWithOptions(ctx, rootfs, mps, path, rd, opts); err != nil {
			return err
		}
		s.emit(c, evtypes.ActionExtractToDir, map[string]string{"path": path})
		return nil
	})
}
