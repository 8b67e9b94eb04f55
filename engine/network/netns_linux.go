package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// prepareNetnsDir makes ExecRoot/netns a shared mount point, as `ip netns`
// does with /run/netns: a netns bind mount copied into a mount namespace
// created later (a container's, before it pivots) is then unmounted there
// too when Berth unmounts it, so no copy keeps a dead namespace alive.
func prepareNetnsDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind mount %s: %w", dir, err)
		}
		err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s a shared mount: %w", dir, err)
	}
	return nil
}

// inNetNS runs fn on an OS thread inside a network namespace: a new one,
// bind-mounted at path, when create is true, else the one mounted at path.
// fn gets a handle to the host's namespace (to place veth peers there).
// Sockets fn opens stay in that namespace after the thread leaves it.
func inNetNS(path string, create bool, fn func(host netns.NsHandle) error) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if err != nil {
			return fmt.Errorf("create netns mount point %s: %w", path, err)
		}
		f.Close()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is returned to the pool only if it made it back to the
		// host's namespace; otherwise it exits with this goroutine.
		host, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("open host network namespace: %w", err)
			return
		}
		defer host.Close()
		if create {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				errc <- fmt.Errorf("create network namespace: %w", err)
				return
			}
			src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
				netns.Set(host)
				errc <- fmt.Errorf("bind mount network namespace at %s: %w", path, err)
				return
			}
		} else {
			ns, err := netns.GetFromPath(path)
			if err != nil {
				errc <- fmt.Errorf("open network namespace %s: %w", path, err)
				return
			}
			err = netns.Set(ns)
			ns.Close()
			if err != nil {
				errc <- fmt.Errorf("enter network namespace %s: %w", path, err)
				return
			}
		}
		ferr := fn(host)
		if err := netns.Set(host); err != nil {
			errc <- fmt.Errorf("return to host network namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	err := <-errc
	if err != nil && create {
		removeNetNS(path)
	}
	return err
}

// removeNetNS unmounts and deletes a netns bind mount; missing is fine.
func removeNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// listNetNS returns the names of the netns mount points under dir.
func listNetNS(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}
