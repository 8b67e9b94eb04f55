package volumes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Mountpoint returns the host folder to bind-mount for a volume. A volume
// created with -o type/device is mounted there first if it is not already;
// each call must be paired with Release once the container stops, and the
// last Release unmounts it. Plain local volumes need no pairing (Release is
// then a no-op).
func (s *Service) Mountpoint(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.load(name)
	if err != nil {
		return "", err
	}
	p := s.dataPath(name)
	if rec.Options["type"] == "" {
		return p, nil
	}
	if !mounted(p) {
		if err := mountDevice(rec.Options, p); err != nil {
			return "", fmt.Errorf("error while mounting volume '%s': %w", p, err)
		}
		s.log.Debug("volume mounted", "name", name, "type", rec.Options["type"], "device", rec.Options["device"])
	}
	s.active[name]++
	return p, nil
}

// Release drops one use taken by Mountpoint; the last one unmounts a -o
// device volume.
func (s *Service) Release(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[name] > 1 {
		s.active[name]--
		return nil
	}
	delete(s.active, name)
	return s.unmountLocked(name, false)
}

// unmountLocked unmounts a device volume's data folder if mounted. Detaching
// is safe for running containers: their bind mounts hold the filesystem.
func (s *Service) unmountLocked(name string, removing bool) error {
	p := s.dataPath(name)
	if !mounted(p) {
		return nil
	}
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
		return fmt.Errorf("unmount %s: %w", p, err)
	}
	if removing && mounted(p) {
		return errdefs.Conflict("volume data %s is still mounted", p)
	}
	return nil
}

func mounted(p string) bool {
	ok, err := mountinfo.Mounted(p)
	return err == nil && ok
}

// mountFlags are the -o words that are mount(2) flags, not filesystem data.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"noatime": {false, unix.MS_NOATIME}, "atime": {true, unix.MS_NOATIME},
	"nodiratime": {false, unix.MS_NODIRATIME}, "diratime": {true, unix.MS_NODIRATIME},
	"relatime": {false, unix.MS_RELATIME}, "strictatime": {false, unix.MS_STRICTATIME},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
	"defaults": {false, 0},
}

// parseMountOptions splits the local driver's "o" option into mount(2)
// flags and the data string handed to the filesystem.
func parseMountOptions(o string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, w := range strings.Split(o, ",") {
		if w == "" {
			continue
		}
		if f, ok := mountFlags[w]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, w)
	}
	return flags, strings.Join(data, ",")
}

func mountDevice(opts map[string]string, target string) error {
	// Again at mount time: a volume recorded by an older berthd, or a
	// symlink swapped in since create, must not expose the engine's folders.
	if err := checkHostPaths(opts); err != nil {
		return errdefs.Invalid("%v", err)
	}
	flags, data := parseMountOptions(opts["o"])
	fstype := opts["type"]
	device := opts["device"]
	if flags&unix.MS_BIND != 0 {
		fstype = ""
		// Mount what was checked, not a path a symlink may redirect.
		if real, err := filepath.EvalSymlinks(device); err == nil {
			device = real
		}
	}
	if err := unix.Mount(device, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s (type %s, options %q): %w", opts["device"], opts["type"], opts["o"], err)
	}
	return nil
}
