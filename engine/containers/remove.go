package containers

import (
	"context"
	"os"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/internal/errdefs"
	evtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
)

// RemoveOptions for Remove.
type RemoveOptions struct {
	Force         bool // kill a running container first
	RemoveVolumes bool // also remove anonymous volumes
}

// Remove deletes a container: its process (with Force), writable layer,
// files and record.
func (s *Service) Remove(ctx context.Context, ref string, o RemoveOptions) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	e.mu.Lock()
	if e.c.State.Status == StatusRemoving {
		e.mu.Unlock()
		return errdefs.Conflict("removal of container %s is already in progress", e.c.ID[:12])
	}
	if e.c.State.Status == StatusRestarting {
		if !o.Force {
			e.mu.Unlock()
			return errdefs.Conflict("You cannot remove a restarting container %s. Stop the container before attempting removal or force remove", e.c.ID)
		}
		s.cancelRestart(e)
	}
	if e.c.State.Running() {
		if !o.Force {
			e.mu.Unlock()
			return errdefs.Conflict("You cannot remove a running container %s. Stop the container before attempting removal or force remove", e.c.ID)
		}
		e.c.State.StoppedByUser = true
		e.mu.Unlock()
		if err := s.stop(ctx, e, unix.SIGKILL, 0); err != nil {
			return err
		}
		e.mu.Lock()
	}
	if e.c.State.Status == StatusRemoving {
		e.mu.Unlock()
		return errdefs.Conflict("removal of container %s is already in progress", e.c.ID[:12])
	}
	e.c.State.Status = StatusRemoving
	c := e.c
	for _, a := range e.pendingAttach {
		a.end()
	}
	e.pendingAttach = nil
	e.mu.Unlock()

	if err := s.images.RemoveRootfs(ctx, c.ID); err != nil {
		e.mu.Lock()
		e.c.State.Status = StatusDead
		e.c.State.Error = err.Error()
		s.persist(e)
		e.notify()
		e.mu.Unlock()
		return errdefs.As(errdefs.KindUnknown, err)
	}
	os.RemoveAll(s.stateDir(c.ID))
	os.RemoveAll(c.Dir)
	if err := s.db.Delete(bucket, c.ID); err != nil {
		return err
	}
	e.mu.Lock()
	for id := range e.execs {
		execIndex.Delete(id)
	}
	e.mu.Unlock()
	s.mu.Lock()
	delete(s.byID, c.ID)
	if s.byName[c.Name] == c.ID {
		delete(s.byName, c.Name)
	}
	s.mu.Unlock()
	if o.RemoveVolumes {
		// Only anonymous volumes go with the container, never named ones.
		if err := mounts.RemoveAnonymous(ctx, s.vols, c.MountPoints); err != nil {
			s.log.Warn("remove anonymous volumes", "id", c.ID, "err", err)
		}
	}
	e.mu.Lock()
	close(e.removed)
	e.notify()
	e.mu.Unlock()
	s.emit(&c, evtypes.ActionDestroy, nil)
	return nil
}
