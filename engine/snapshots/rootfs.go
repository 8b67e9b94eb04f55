package snapshots

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/errdefs"
)

// A container's writable layer lives in <root>/overlay/<id>/{upper,work,merged};
// its record (bucket rootfs) names the image layers below it, so those stay
// on disk even if the image is deleted with force.

// Rootfs is the record of one container's writable layer.
type Rootfs struct {
	ImageID  string   `json:"imageID"`
	ChainIDs []string `json:"chainIDs"` // bottom layer first
}

// GetRootfs returns containerID's record.
func GetRootfs(tx *bolt.Tx, containerID string) (Rootfs, bool, error) {
	var r Rootfs
	v := tx.Bucket([]byte(BucketRootfs)).Get([]byte(containerID))
	if v == nil {
		return r, false, nil
	}
	err := json.Unmarshal(v, &r)
	return r, err == nil, err
}

// PutRootfs records containerID's writable layer unless it is recorded
// already (preparing is idempotent).
func PutRootfs(tx *bolt.Tx, containerID string, r Rootfs) error {
	b := tx.Bucket([]byte(BucketRootfs))
	if b.Get([]byte(containerID)) != nil {
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(containerID), data)
}

// DeleteRootfs drops containerID's record.
func DeleteRootfs(tx *bolt.Tx, containerID string) error {
	return tx.Bucket([]byte(BucketRootfs)).Delete([]byte(containerID))
}

// ForEachRootfs calls fn for every recorded writable layer; records that do
// not decode are skipped.
func ForEachRootfs(tx *bolt.Tx, fn func(containerID string, r Rootfs) error) error {
	return tx.Bucket([]byte(BucketRootfs)).ForEach(func(k, v []byte) error {
		var r Rootfs
		if err := json.Unmarshal(v, &r); err != nil {
			return nil
		}
		return fn(string(k), r)
	})
}

// OverlaysDir holds one directory per container writable layer.
func (l Layout) OverlaysDir() string { return filepath.Join(l.Root, "overlay") }

// OverlayDir is containerID's writable layer directory; containerID must be
// one path element.
func (l Layout) OverlayDir(containerID string) (string, error) {
	if containerID == "" || strings.ContainsAny(containerID, "/\\:,") || containerID == "." || containerID == ".." {
		return "", errdefs.Invalid("invalid container ID %q", containerID)
	}
	return filepath.Join(l.Root, "overlay", containerID), nil
}

// LowerDirs returns the lower directories of a container layer on
// chainIDs (bottom first), top first; an empty chain gets an empty dir.
func (l Layout) LowerDirs(chainIDs []string) []string {
	if len(chainIDs) == 0 {
		return []string{filepath.Join(l.Root, "empty")}
	}
	out := make([]string, 0, len(chainIDs))
	for i := len(chainIDs) - 1; i >= 0; i-- {
		out = append(out, l.LayerDir(chainIDs[i]))
	}
	return out
}

// CreateRW creates the directories of a writable layer in dir.
// Idempotent: only missing directories are created. Its init layer is the
// store's shared one (InitDir).
func CreateRW(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
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
	return nil
}

// InitDir is the init layer shared by the writable layers (see
// makeInitLayer): its content is the same for every container, so it is
// made once per store instead of a dozen directories and files per create
// (and as many deletions per removal).
func (l Layout) InitDir() string { return filepath.Join(l.Root, "init") }

// RWLowers are the lower directories of the writable layer in dir on the
// image layers chainIDs, top first: the init layer (the layer's own when
// it has one, made by a berthd before the init layer was shared), then
// the image's.
func (l Layout) RWLowers(dir string, chainIDs []string) []string {
	init := l.InitDir()
	if _, err := os.Stat(filepath.Join(dir, "init.complete")); err == nil {
		init = filepath.Join(dir, "init")
	}
	return append([]string{init}, l.LowerDirs(chainIDs)...)
}

// makeInitLayer creates the layer between the image and the containers'
// writable layers, as Docker's "-init" layer: the mount points the runtime
// needs (/proc, /sys, /dev/pts, /dev/shm, and the files berthd bind-mounts
// over /etc), so that they never show up in diff or commit. Idempotent; a
// layer cut short by a crash is made again.
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

// MountRW mounts the writable layer in dir (<root>/overlay/<container ID>)
// over lowers (top first: RWLowers) and returns the merged directory.
// Idempotent: an already mounted layer returns the same path.
func MountRW(dir string, lowers []string) (string, error) {
	containerID := filepath.Base(dir)
	merged := filepath.Join(dir, "merged")
	if ok, _ := mountinfo.Mounted(merged); ok {
		return merged, nil
	}
	Settle(merged) // the overlay detached last from merged is gone
	for _, d := range []string{"upper", "work", "merged"} {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			return "", fmt.Errorf("writable layer of container %s is incomplete (%s missing): prepare it again", containerID, d)
		}
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

// UnmountAll detaches every mount stacked on target; not mounted is fine.
func UnmountAll(target string) error {
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

// IsMounted reports whether p is a mount point; an error other than "does
// not exist" counts as mounted (the safe answer before deleting p).
func IsMounted(p string) bool {
	ok, err := mountinfo.Mounted(p)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	return err != nil || ok
}
