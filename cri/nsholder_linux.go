package cri

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// nsKinds are the namespaces a sandbox can pin, by OCI type, with their
// clone flag and /proc name.
var nsKinds = []struct {
	typ  string
	flag int
	proc string
}{
	{"network", unix.CLONE_NEWNET, "net"},
	{"ipc", unix.CLONE_NEWIPC, "ipc"},
	{"uts", unix.CLONE_NEWUTS, "uts"},
}

// pinNamespaces makes new namespaces of the given OCI types and pins each
// with an nsfs bind mount at dir/<type>, so it lives on without a process
// (and across berthd restarts) until unpinNamespaces. The UTS namespace
// gets hostname. It returns type -> path.
func pinNamespaces(dir string, types map[string]bool, hostname string) (map[string]string, error) {
	flags := 0
	for _, k := range nsKinds {
		if types[k.typ] {
			flags |= k.flag
		}
	}
	if flags == 0 {
		return map[string]string{}, nil
	}
	out := map[string]string{}
	for _, k := range nsKinds {
		if !types[k.typ] {
			continue
		}
		p := filepath.Join(dir, k.typ)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o400)
		if err != nil {
			return nil, err
		}
		f.Close()
		out[k.typ] = p
	}
	errc := make(chan error, 1)
	go func() {
		// This thread enters the new namespaces and is never handed back
		// to the Go scheduler: it exits with the goroutine (LockOSThread
		// without Unlock), taking the namespaces' last process reference
		// with it; the bind mounts keep them.
		runtime.LockOSThread()
		if err := unix.Unshare(flags); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if types["uts"] && hostname != "" {
			if err := unix.Sethostname([]byte(hostname)); err != nil {
				errc <- fmt.Errorf("sethostname: %w", err)
				return
			}
		}
		tid := unix.Gettid()
		for _, k := range nsKinds {
			if !types[k.typ] {
				continue
			}
			src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, k.proc)
			if err := unix.Mount(src, out[k.typ], "", unix.MS_BIND, ""); err != nil {
				errc <- fmt.Errorf("pin %s namespace: %w", k.typ, err)
				return
			}
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		unpinNamespaces(out)
		return nil, err
	}
	return out, nil
}

// unpinNamespaces releases pinned namespaces (the kernel frees each once
// no process is left in it) and removes the files. Missing ones are fine.
func unpinNamespaces(paths map[string]string) error {
	var errs []error
	for _, p := range paths {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			continue
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isPinned reports whether p is still an nsfs mount (it is not after a
// host reboot, when the files remain on a persistent disk but empty).
func isPinned(p string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
