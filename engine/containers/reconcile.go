package containers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/berth-dev/berth/internal/monitor"
)

// abandonStart undoes a start that berthd did not live to finish: a
// monitor may have created the container (its init waiting for `runtime
// start`) before berthd died, while the record still says created or
// exited. The runtime deletes it, which ends the monitor too.
func (s *Service) abandonStart(ctx context.Context, c *Container) {
	rt, err := s.runtimeOf(c)
	if err != nil {
		return
	}
	_, monErr := monitor.Ping(ctx, s.stateDir(c.ID))
	if _, err := os.Stat(filepath.Join(rt.Root, c.ID)); err != nil && monErr != nil {
		return // nothing was left behind
	}
	s.log.Info("cleaning up a start cut short by a crash", "id", c.ID)
	rt.Delete(ctx, c.ID, &oci.DeleteOpts{Force: true})
	if monErr == nil {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		monitor.Wait(wctx, s.stateDir(c.ID))
		cancel()
	}
	if s.net != nil {
		s.net.Disconnect(ctx, c.ID)
	}
}

// Reconcile compares what the records say with what exists after berthd
// (re)starts: running containers whose monitor answers are re-adopted;
// those that exited meanwhile get their real exit status from the monitor's
// exit file; those whose monitor is gone (host reboot, killed) are marked
// exited and cleaned up; writable layers and mounts nobody owns are removed.
func (s *Service) Reconcile(ctx context.Context) error {
	for _, e := range s.all() {
		s.reconcileOne(ctx, e)
	}
	if s.net != nil {
		var live []string
		for _, e := range s.all() {
			e.mu.Lock()
			if e.c.State.Running() {
				live = append(live, e.c.ID)
			}
			e.mu.Unlock()
		}
		if err := s.net.Reconcile(ctx, live); err != nil {
			s.log.Error("network reconcile", "err", err)
		}
	}
	// Writable layers without a record are leftovers of a create that was
	// cut short.
	ids, err := s.images.RootfsIDs(ctx)
	if err != nil {
		return err
	}
	s.mu.RLock()
	var orphans []string
	for _, id := range ids {
		if _, ok := s.byID[id]; !ok {
			orphans = append(orphans, id)
		}
	}
	s.mu.RUnlock()
	for _, id := range orphans {
		s.log.Info("removing orphaned container layer", "id", id)
		s.images.RemoveRootfs(ctx, id)
		os.RemoveAll(s.stateDir(id))
	}
	s.sweepStateDirs()
	s.sweepDataDirs()
	return nil
}

// reconcileOne brings one container's record in line with what exists:
// re-adopted, exited with its real status, a removal finished, or a start
// cut short undone.
func (s *Service) reconcileOne(ctx context.Context, e *entry) {
	e.mu.Lock()
	c := &e.c
	stateDir := s.stateDir(c.ID)
	switch c.State.Status {
	case StatusRunning, StatusPaused, StatusRestarting:
		if pid, err := monitor.Ping(ctx, stateDir); err == nil {
			if pid > 0 {
				c.State.Pid = pid
			}
			if c.State.Status == StatusRestarting {
				c.State.Status = StatusRunning
			}
			ex := make(chan struct{})
			e.exited = ex
			e.runs++
			s.resumeHealthcheck(e, ex)
			e.mu.Unlock()
			s.watch(e, ex)
			return
		}
		st := s.lostExit(ctx, c)
		ex := make(chan struct{})
		e.exited = ex
		e.runs++
		e.mu.Unlock()
		s.onExit(e, ex, *st)
		return
	case StatusRemoving:
		e.mu.Unlock()
		// A removal was cut short: finish it.
		c.State.Status = StatusDead
		s.Remove(ctx, c.ID, RemoveOptions{Force: true})
		return
	default:
		s.abandonStart(ctx, c)
		runtime.RemoveCgroup(s.cgroupParentOf(c), c.ID)
		s.images.UnmountRootfs(ctx, c.ID)
		os.RemoveAll(stateDir)
	}
	e.mu.Unlock()
}

// lostExit is the exit status of a container whose monitor no longer
// answers: the one it recorded, else 255 (the monitor died without
// recording one: killed, or the host rebooted), the runtime's state then
// being deleted since the container cannot run under berthd's control.
func (s *Service) lostExit(ctx context.Context, c *Container) *monitor.ExitStatus {
	st, err := monitor.ReadExit(s.stateDir(c.ID))
	if err == nil {
		return st
	}
	if !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("unreadable exit status", "id", c.ID, "err", err)
	}
	if rt, err := s.runtimeOf(c); err == nil {
		rt.Delete(ctx, c.ID, &oci.DeleteOpts{Force: true})
	}
	return &monitor.ExitStatus{ExitCode: 255, FinishedAt: time.Now().UTC()}
}
