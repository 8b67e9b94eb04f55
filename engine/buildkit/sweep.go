package buildkit

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// sweep removes what a berthd killed in the middle of a build left of its
// RUN steps, before the worker starts again: the step's container (state in
// the runtime's default root, named like its bundle directory under
// <worker>/executor, its processes still running) and the mounts of build
// snapshots (a step's rootfs in the bundle, a file operation's mount under
// the temp directory). Failures are logged by the caller; they cost
// processes and mounts, not the store's consistency, which containerd's
// metadata DB and Berth's records keep by their own transactions.
func sweep(ctx context.Context, workerRoot, runtime string) error {
	exe := filepath.Join(workerRoot, "executor")
	ents, err := os.ReadDir(exe)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || runtime == "" {
			continue
		}
		// `delete --force` kills the container's processes and drops its
		// state; a bundle without a container answers an error we ignore.
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_ = exec.CommandContext(cctx, runtime, "delete", "--force", e.Name()).Run()
		cancel()
	}
	snaps := filepath.Join(workerRoot, "snapshots") + "/"
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		under := strings.HasPrefix(m.Mountpoint+"/", workerRoot+"/")
		ours := m.FSType == "overlay" && strings.Contains(m.VFSOptions, snaps)
		return !under && !ours, false
	})
	if err != nil {
		return err
	}
	// Deepest first.
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := unix.Unmount(mounts[i].Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := os.RemoveAll(filepath.Join(exe, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
