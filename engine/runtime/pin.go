package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"golang.org/x/sys/unix"
)

// A runtime such as crun protects itself against a container overwriting
// its binary through /proc/PID/exe (CVE-2019-5736) by making, at every
// run, a read-only bind mount of its own binary and re-executing itself
// from there: a second program load and three mount calls on each create,
// start, delete, kill and exec. It skips that when it already runs from a
// read-only file. berthd therefore runs crun from a read-only bind mount
// of its binary, made once: the same protection, paid once per daemon
// instead of once per runtime command.

// pinnedPath is where the read-only bind mount of r's binary goes: beside
// its state root, named as the binary (the runtime's messages name it).
func (r *Runtime) pinnedPath() string {
	return filepath.Join(r.Root+"-bin", filepath.Base(r.Path))
}

// pin makes r run from a read-only bind mount of its binary. Only crun
// is pinned: runc and runsc clone themselves differently or not at all.
// On failure r runs from its own path, as before.
func (r *Runtime) pin() error {
	cli, ok := r.Runtime.(*oci.CLI)
	if !ok || r.Name != "crun" || filepath.Base(r.Path) != "crun" {
		return nil
	}
	dst := r.pinnedPath()
	if err := pinBinary(r.Path, dst); err != nil {
		return fmt.Errorf("read-only copy of %s: %w", r.Path, err)
	}
	cli.Path = dst
	r.ExecPath = dst
	return nil
}

// Binary is the path to run r's binary from: its pinned read-only bind
// mount when it has one, else its path.
func (r *Runtime) Binary() string {
	if r.ExecPath != "" {
		return r.ExecPath
	}
	return r.Path
}

// pinBinary makes dst a read-only bind mount of the file src. A mount
// already there of the same file is kept (berthd restarted); one of
// another file (the runtime was upgraded) is replaced.
func pinBinary(src, dst string) error {
	if pinnedTo(src, dst) {
		return nil
	}
	unmountAll(dst)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_RDONLY, 0o500)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return &os.PathError{Op: "bind mount", Path: dst, Err: err}
	}
	if err := unix.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		unmountAll(dst)
		return &os.PathError{Op: "remount read-only", Path: dst, Err: err}
	}
	if !pinnedTo(src, dst) {
		unmountAll(dst)
		return errors.New("the bind mount is not read-only")
	}
	return nil
}

// pinnedTo reports whether dst is src, on a read-only mount.
func pinnedTo(src, dst string) bool {
	var s, d unix.Stat_t
	var fs unix.Statfs_t
	if unix.Stat(src, &s) != nil || unix.Stat(dst, &d) != nil || unix.Statfs(dst, &fs) != nil {
		return false
	}
	return s.Dev == d.Dev && s.Ino == d.Ino && fs.Flags&unix.ST_RDONLY != 0
}

// unmountAll takes every mount off path (they may be stacked).
func unmountAll(path string) {
	for i := 0; i < 64 && unix.Unmount(path, unix.MNT_DETACH) == nil; i++ {
	}
}

// Unpin removes the read-only bind mounts of the runtimes' binaries. Only
// call it when no monitor is left to run a runtime from them.
func (s *Set) Unpin() {
	for _, r := range s.Runtimes {
		if r.ExecPath == "" {
			continue
		}
		unmountAll(r.ExecPath)
		if err := os.Remove(r.ExecPath); err == nil || errors.Is(err, fs.ErrNotExist) {
			os.Remove(filepath.Dir(r.ExecPath))
		}
	}
}
