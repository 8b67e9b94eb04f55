package images

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Container root filesystems are engine/snapshots; these methods take the
// service's lock and transactions around them, so a container's record and
// the layers it pins change atomically with image records.

// rootfsRecord is one container's writable layer.
type rootfsRecord = snapshots.Rootfs

func (s *Service) overlayDir(containerID string) (string, error) {
	return s.snap.OverlayDir(containerID)
}

func (s *Service) rootfsRecords() (map[string]rootfsRecord, error) {
	out := map[string]rootfsRecord{}
	err := s.db.Bolt().View(func(tx *bolt.Tx) error {
		return snapshots.ForEachRootfs(tx, func(id string, r rootfsRecord) error {
			out[id] = r
			return nil
		})
	})
	return out, err
}

func (s *Service) rootfsRecord(containerID string) (rootfsRecord, error) {
	var (
		r  rootfsRecord
		ok bool
	)
	err := s.db.Bolt().View(func(tx *bolt.Tx) (err error) {
		r, ok, err = snapshots.GetRootfs(tx, containerID)
		return err
	})
	if err == nil && !ok {
		return r, errdefs.NotFound("no writable layer for container %s", containerID)
	}
	return r, err
}

// WritableLayer returns the record of containerID's writable layer (the
// image and the layer chain under it) and its upper directory, where the
// container's changes are: what a commit turns into a layer.
func (s *Service) WritableLayer(containerID string) (snapshots.Rootfs, string, error) {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return snapshots.Rootfs{}, "", err
	}
	r, err := s.rootfsRecord(containerID)
	if err != nil {
		return r, "", err
	}
	return r, filepath.Join(dir, "upper"), nil
}

// PrepareRootfs creates the writable layer of containerID on top of image
// imageID (an ID or any reference Resolve accepts) and records it, with
// the caller's also in the same commit (the container's own record: one
// commit per create). Idempotent: preparing an existing layer only
// recreates missing directories.
func (s *Service) PrepareRootfs(ctx context.Context, containerID, imageID string, also ...store.Op) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	// The read lock is enough to pin: rmi and GC, which drop references,
	// take the write lock, while creates (each adding its own record)
	// run side by side and share commits (store.DB's group commit).
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.images[imageID]
	if rec == nil {
		rec = s.resolveLocked(imageID)
	}
	if rec == nil {
		return errdefs.NotFound("No such image: %s", imageID)
	}
	// The directories before the record: a crash in between leaves a
	// layer without a record, which the next start removes (cleanup).
	if err := snapshots.CreateRW(dir); err != nil {
		return err
	}
	// Under the (read) lock: the image's layers are pinned before a GC
	// or rmi can take them.
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := snapshots.PutRootfs(tx, containerID, rootfsRecord{ImageID: rec.ID, ChainIDs: rec.ChainIDs}); err != nil {
			return err
		}
		return runOps(tx, also)
	})
}

func runOps(tx *bolt.Tx, ops []store.Op) error {
	for _, op := range ops {
		if err := op(tx); err != nil {
			return err
		}
	}
	return nil
}

// lowerDirs returns the lower directories of a container layer, top first.
func (s *Service) lowerDirs(r rootfsRecord) []string {
	return s.snap.LowerDirs(r.ChainIDs)
}

// MountRootfs mounts the container's overlay and returns the merged
// directory. Idempotent: an already mounted layer returns the same path.
func (s *Service) MountRootfs(ctx context.Context, containerID string) (string, error) {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return "", err
	}
	r, err := s.rootfsRecord(containerID)
	if err != nil {
		return "", err
	}
	return snapshots.MountRW(dir, s.snap.RWLowers(dir, r.ChainIDs))
}

// UnmountRootfs unmounts the container's overlay; the end of the overlay
// (the sync of its upper file system) is left to the background
// (snapshots.Detach). Idempotent.
func (s *Service) UnmountRootfs(ctx context.Context, containerID string) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	return snapshots.Detach(filepath.Join(dir, "merged"))
}

// RemoveRootfs unmounts and deletes the container's writable layer and its
// record, with the caller's also in the same commit (the container's own
// record: one commit per rm). Idempotent.
func (s *Service) RemoveRootfs(ctx context.Context, containerID string, also ...store.Op) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	if err := snapshots.Detach(filepath.Join(dir, "merged")); err != nil {
		return err
	}
	// Move aside first: the name disappears atomically, so a crash never
	// leaves a half-deleted layer that looks usable. Its deletion waits
	// for the commit (trash.Bin.Hold).
	defer s.bin.Hold()()
	if err := s.trash(dir); err != nil {
		return fmt.Errorf("remove writable layer of container %s: %w", containerID, err)
	}
	return s.forgetRootfs(containerID, also)
}

// ForgetRootfs deletes the record of the container's writable layer, with
// the caller's also in the same commit, and leaves the layer itself to
// finish (unmount, then into the trash), which the caller runs once it has
// replied: its client waits for neither. A crash in between leaves a
// layer without a record, which the next start unmounts and deletes
// (cleanup).
func (s *Service) ForgetRootfs(ctx context.Context, containerID string, also ...store.Op) (finish func(), err error) {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return nil, err
	}
	if err := s.forgetRootfs(containerID, also); err != nil {
		return nil, err
	}
	return func() {
		if err := snapshots.Detach(filepath.Join(dir, "merged")); err != nil {
			s.log.Warn("removed container's layer still mounted: left for the next start", "id", containerID, "err", err)
			return
		}
		if err := s.trash(dir); err != nil {
			s.log.Warn("remove writable layer", "id", containerID, "err", err)
		}
	}, nil
}

// forgetRootfs commits the deletion of the layer's record and also.
func (s *Service) forgetRootfs(containerID string, also []store.Op) error {
	// Deleting the record only unpins layers: rmi and GC, which hold the
	// lock, see the pin or not, and both are safe; without the lock,
	// concurrent removals (rm -f of many) share commits.
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := snapshots.DeleteRootfs(tx, containerID); err != nil {
			return err
		}
		return runOps(tx, also)
	})
}

// RootfsIDs returns the IDs of the containers that have a writable layer
// (recorded), sorted, for the daemon's reconcile after a crash.
func (s *Service) RootfsIDs(ctx context.Context) ([]string, error) {
	recs, err := s.rootfsRecords()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(recs))
	for id := range recs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}
