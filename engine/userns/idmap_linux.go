package userns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// userNS returns a user namespace with r's mapping (made once, by a child
// that is gone by the time the namespace is used: the open file keeps the
// namespace alive).
func (r *Remap) userNS() (*os.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ns != nil {
		return r.ns, nil
	}
	cmd := exec.Command("cat")
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(r.UID.Start), Size: int(r.UID.Size)}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(r.GID.Start), Size: int(r.GID.Size)}},
		Pdeathsig:   syscall.SIGKILL,
	}
	// The child blocks reading its stdin until the namespace is opened.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("create a user namespace for idmapped mounts: %w", err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	stdin.Close()
	cmd.Wait()
	if err != nil {
		return nil, err
	}
	r.ns = f
	return f, nil
}

// Close releases the namespace kept for idmapped mounts.
func (r *Remap) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ns != nil {
		r.ns.Close()
		r.ns = nil
	}
}

// idmapped returns a detached clone of the mount tree at path whose ids
// are shifted by ns's mapping (on-disk 0 shows as the remapped root).
func idmapped(path string, ns *os.File) (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree %s: %w", path, err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("idmap %s: %w", path, err)
	}
	return fd, nil
}

// overlayLayers reads the layers of the overlay mounted at target.
func overlayLayers(target string) (lowers []string, upper, work string, err error) {
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(target))
	if err != nil {
		return nil, "", "", err
	}
	if len(ms) == 0 || ms[len(ms)-1].FSType != "overlay" {
		return nil, "", "", fmt.Errorf("%s is not an overlay mount", target)
	}
	for _, o := range strings.Split(ms[len(ms)-1].VFSOptions, ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "lowerdir":
			lowers = append(lowers, strings.Split(v, ":")...)
		case "lowerdir+":
			lowers = append(lowers, v)
		case "upperdir":
			upper = v
		case "workdir":
			work = v
		}
	}
	if len(lowers) == 0 || upper == "" || work == "" {
		return nil, "", "", fmt.Errorf("%s: cannot read the overlay's layers from mountinfo", target)
	}
	return lowers, upper, work, nil
}

// IDMapOverlay remounts the container overlay at target on idmapped
// layers, so the container's root (a remapped host id) owns what the
// image's root owns, and its writes land on disk with the image's ids.
// The lower layers are each cloned idmapped; upper and work must share a
// parent, which is cloned idmapped once (overlayfs needs both on one
// mount). The overlay is mounted with the remapped root as its mounter's
// fsuid/fsgid: overlayfs creates its work files and copies up with the
// mounter's credentials, which must be mapped in the idmapped upper.
// Already idmapped (berthd restarted): nothing to do.
func (r *Remap) IDMapOverlay(target string) error {
	lowers, upper, work, err := overlayLayers(target)
	if err != nil {
		return err
	}
	if strings.HasPrefix(upper, "/proc/self/fd/") {
		return nil
	}
	if filepath.Dir(upper) != filepath.Dir(work) {
		return fmt.Errorf("overlay at %s: upper and work dirs are not siblings", target)
	}
	ns, err := r.userNS()
	if err != nil {
		return err
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	var lowerOpts []string
	for _, l := range lowers {
		fd, err := idmapped(l, ns)
		if err != nil {
			return err
		}
		fds = append(fds, fd)
		lowerOpts = append(lowerOpts, "/proc/self/fd/"+strconv.Itoa(fd))
	}
	pfd, err := idmapped(filepath.Dir(upper), ns)
	if err != nil {
		return err
	}
	fds = append(fds, pfd)
	parent := "/proc/self/fd/" + strconv.Itoa(pfd) + "/"
	opts := "lowerdir=" + strings.Join(lowerOpts, ":") + ",upperdir=" + parent + filepath.Base(upper) + ",workdir=" + parent + filepath.Base(work)
	if len(opts) >= os.Getpagesize()-1 {
		return fmt.Errorf("overlay at %s: too many layers (%d) for an idmapped mount", target, len(lowers))
	}
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	uid, gid := r.HostRoot()
	return asMounter(uid, gid, func() error { return unix.Mount("overlay", target, "overlay", 0, opts) })
}

// asMounter runs f on a thread of its own whose fsuid and fsgid are uid and
// gid, with its capabilities raised again (changing fsuid drops the file
// capabilities overlayfs needs for copy-up). The thread is discarded.
func asMounter(uid, gid int, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		unix.Setfsuid(uid)
		unix.Setfsgid(gid)
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- err
			return
		}
		data[0].Effective, data[1].Effective = data[0].Permitted, data[1].Permitted
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}

// Probe checks, in a scratch directory under dir, that the kernel mounts
// an overlay on idmapped layers and writes through it with the remapped
// root's ids mapped back: what containers need.
func (r *Remap) Probe(dir string) (err error) {
	tmp, err := os.MkdirTemp(dir, "userns-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{"lower", "c/upper", "c/work", "merged"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "lower", "f"), []byte("x"), 0o644); err != nil {
		return err
	}
	merged := filepath.Join(tmp, "merged")
	opts := "lowerdir=" + filepath.Join(tmp, "lower") + ",upperdir=" + filepath.Join(tmp, "c/upper") + ",workdir=" + filepath.Join(tmp, "c/work")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if err := r.IDMapOverlay(merged); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(merged, "f"), &st); err != nil {
		return err
	}
	if int(st.Uid) != int(r.UID.Start) {
		return fmt.Errorf("an idmapped layer shows uid %d, want %d", st.Uid, r.UID.Start)
	}
	uid, gid := r.HostRoot()
	werr := asMounter(uid, gid, func() error {
		return os.WriteFile(filepath.Join(merged, "f"), []byte("y"), 0o644)
	})
	if werr != nil {
		return fmt.Errorf("copy-up through the idmapped overlay: %w", werr)
	}
	if err := unix.Stat(filepath.Join(tmp, "c/upper/f"), &st); err != nil {
		return err
	}
	if st.Uid != 0 {
		return errors.New("a file written by the remapped root is not stored with the image's ids")
	}
	return nil
}

// ApplySpec puts the container in a new user namespace with r's mapping.
func (r *Remap) ApplySpec(s *specs.Spec) {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return
		}
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: r.UID.Start, Size: r.UID.Size}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: r.GID.Start, Size: r.GID.Size}}
}
