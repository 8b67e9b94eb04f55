package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/errdefs"
)

// A container's writable layer lives in <root>/overlay/<id>/{upper,work,merged};
// its record (bucket rootfs) names the image layers below it, so those stay
// on disk even if the image is deleted with force.

func (s *Service) overlayDir(containerID string) (string, error) {
	if containerID == "" || strings.ContainsAny(containerID, "/\\:,") || containerID == "." || containerID == ".." {
		return "", errdefs.Invalid("invalid container ID %q", containerID)
	}
	return filepath.Join(s.root, "overlay", containerID), nil
}

func (s *Service) rootfsRecords() (map[string]rootfsRecord, error) {
	out := map[string]rootfsRecord{}
	err := s.db.Bolt().View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRootfs)).ForEach(func(k, v []byte) error {
			var r rootfsRecord
			if err := json.Unmarshal(v, &r); err == nil {
				out[string(k)] = r
			}
			return nil
		})
	})
	return out, err
}

func (s *Service) rootfsRecord(containerID string) (rootfsRecord, error) {
	var r rootfsRecord
	err := s.db.Get(bucketRootfs, containerID, &r)
	if errors.Is(err, errNotFoundStore) {
		return r, errdefs.NotFound("no writable layer for container %s", containerID)
	}
	return r, err
}

// PrepareRootfs creates the writable layer of containerID on top of image
// imageID (an ID or any reference Resolve accepts). Idempotent: preparing an
// existing layer only recreates missing directories.
func (s *Service) PrepareRootfs(ctx context.Context, containerID, imageID string) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	rec := s.images[imageID]
	if rec == nil {
		rec = s.resolveLocked(imageID)
	}
	if rec == nil {
		s.mu.Unlock()
		return errdefs.NotFound("No such image: %s", imageID)
	}
	err = s.db.Bolt().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketRootfs))
		if b.Get([]byte(containerID)) != nil {
			return nil
		}
		data, err := json.Marshal(rootfsRecord{ImageID: rec.ID, ChainIDs: rec.ChainIDs})
		if err != nil {
			return err
		}
		return b.Put([]byte(containerID), data)
	})
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range []string{"upper", "work", "merged"} {
		mode := os.FileMode(0o700)
		if d == "upper" || d == "merged" {
			mode = 0o755 // the container's "/"
		}
		if err := os.Mkdir(filepath.Join(dir, d), mode); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return makeInitLayer(filepath.Join(dir, "init"))
}

// makeInitLayer creates the layer between the image and the container's
// writable layer, as Docker's "-init" layer: the mount points the runtime
// needs (/proc, /sys, /dev/pts, /dev/shm, and the files berthd bind-mounts
// over /etc), so that they never show up in diff or commit.
func makeInitLayer(dir string) error {
	marker := dir + ".complete"
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	os.RemoveAll(dir)
	for _, d := range []string{"proc", "sys", "dev/pts", "dev/shm", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for _, f := range []string{".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "dev/console"} {
		fh, err := os.OpenFile(filepath.Join(dir, f), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fh.Close()
	}
	return os.WriteFile(marker, nil, 0o600)
}

// lowerDirs returns the lower directories of a container layer, top first.
func (s *Service) lowerDirs(r rootfsRecord) []string {
	if len(r.ChainIDs) == 0 {
		return []string{filepath.Join(s.root, "empty")}
	}
	out := make([]string, 0, len(r.ChainIDs))
	for i := len(r.ChainIDs) - 1; i >= 0; i-- {
		out = append(out, s.layerDir(r.ChainIDs[i]))
	}
	return out
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
	merged := filepath.Join(dir, "merged")
	if ok, _ := mountinfo.Mounted(merged); ok {
		return merged, nil
	}
	for _, d := range []string{"upper", "work", "merged"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			return "", fmt.Errorf("writable layer of container %s is incomplete (%s missing): prepare it again", containerID, d)
		}
	}
	lowers := s.lowerDirs(r)
	if _, err := os.Stat(filepath.Join(dir, "init.complete")); err == nil {
		lowers = append([]string{filepath.Join(dir, "init")}, lowers...)
	}
	if err := mountOverlay(lowers, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), merged); err != nil {
		return "", fmt.Errorf("mount rootfs of container %s: %w", containerID, err)
	}
	return merged, nil
}

// mountOverlay mounts an overlay with mount(2) when the options fit in a
// page, else with the new mount API, which takes one lower dir per call
// ("lowerdir+", Linux 6.8+) and has no length limit.
func mountOverlay(lowers []string, upper, work, target string) error {
	opts := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(opts) < os.Getpagesize()-1 {
		return unix.Mount("overlay", target, "overlay", 0, opts)
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%d layers need the new mount API: %w", len(lowers), err)
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("too many layers (%d) for this kernel: %w", len(lowers), err)
		}
	}
	if err := unix.FsconfigSetString(fd, "upperdir", upper); err != nil {
		return err
	}
	if err := unix.FsconfigSetString(fd, "workdir", work); err != nil {
		return err
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// unmountAll detaches every mount stacked on target; not mounted is fine.
func unmountAll(target string) error {
	for i := 0; i < 16; i++ {
		if ok, err := mountinfo.Mounted(target); err != nil || !ok {
			return nil
		}
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return nil
}

// UnmountRootfs unmounts the container's overlay. Idempotent.
func (s *Service) UnmountRootfs(ctx context.Context, containerID string) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	return unmountAll(filepath.Join(dir, "merged"))
}

// RemoveRootfs unmounts and deletes the container's writable layer and its
// record. Idempotent.
func (s *Service) RemoveRootfs(ctx context.Context, containerID string) error {
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return err
	}
	if err := unmountAll(filepath.Join(dir, "merged")); err != nil {
		return err
	}
	// Move aside first: the name disappears atomically, so a crash never
	// leaves a half-deleted layer that looks usable.
	if err := s.trash(dir); err != nil {
		return fmt.Errorf("remove writable layer of container %s: %w", containerID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Bolt().Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRootfs)).Delete([]byte(containerID))
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
