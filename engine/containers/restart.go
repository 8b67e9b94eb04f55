package containers

import (
	"context"
	"time"

	"github.com/moby/moby/api/types/container"
)

// Docker's restart back-off: 100 ms, doubled at each restart, at most one
// minute, back to the start after a run of 10 s or more.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
)

// shouldRestart applies the restart policy to a run that just ended, with
// Docker's semantics. Caller holds e.mu.
func shouldRestart(c *Container) bool {
	p := c.HostConfig.RestartPolicy
	if c.HostConfig.AutoRemove {
		return false
	}
	switch p.Name {
	case container.RestartPolicyAlways:
		return !c.State.StoppedByUser
	case container.RestartPolicyUnlessStopped:
		return !c.State.StoppedByUser
	case container.RestartPolicyOnFailure:
		if c.State.StoppedByUser || c.State.ExitCode == 0 {
			return false
		}
		return p.MaximumRetryCount == 0 || c.RestartCount < p.MaximumRetryCount
	}
	return false
}

// scheduleRestart marks the container restarting and starts it again after
// the back-off. Caller holds e.mu.
func (s *Service) scheduleRestart(e *entry) {
	c := &e.c
	ran := c.State.FinishedAt.Sub(c.State.StartedAt)
	switch {
	case ran >= 10*time.Second || e.backoff == 0:
		e.backoff = backoffStart
	default:
		e.backoff *= 2
	}
	if e.backoff > backoffMax {
		e.backoff = backoffMax
	}
	c.RestartCount++
	c.State.Status = StatusRestarting
	s.persist(e)
	e.notify()
	timer := time.AfterFunc(e.backoff, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.restartTimer = nil
		if e.c.State.Status != StatusRestarting || s.ctx.Err() != nil {
			return
		}
		if err := s.startLocked(context.Background(), e); err != nil {
			s.log.Warn("restart failed", "id", e.c.ID, "err", err)
			e.c.State.Status = StatusExited
			e.c.State.Error = err.Error()
			s.persist(e)
			e.notify()
		}
	})
	e.restartTimer = timer
}

// cancelRestart stops a pending restart (stop, kill or rm of a restarting
// container). Caller holds e.mu. It reports whether one was pending.
func (s *Service) cancelRestart(e *entry) bool {
	if e.c.State.Status != StatusRestarting {
		return false
	}
	if e.restartTimer != nil {
		e.restartTimer.Stop()
		e.restartTimer = nil
	}
	e.c.State.Status = StatusExited
	s.persist(e)
	e.notify()
	return true
}

// stopPendingRestart is stop or kill of a restarting container: the
// pending restart is cancelled and the container counts as stopped by the
// user. Caller holds e.mu.
func (s *Service) stopPendingRestart(e *entry) bool {
	if !s.cancelRestart(e) {
		return false
	}
	e.c.State.StoppedByUser = true
	s.persist(e)
	return true
}

// RestartOnBoot starts, once berthd is up, the stopped containers whose
// policy asks for it (after a host reboot or a crash that took the monitors
// too). As in Docker, "always" brings back even a container stopped by
// hand; "unless-stopped" does not.
func (s *Service) RestartOnBoot(ctx context.Context) {
	for _, e := range s.all() {
		e.mu.Lock()
		c := &e.c
		if c.State.Status != StatusExited || c.State.StartedAt.IsZero() {
			e.mu.Unlock()
			continue
		}
		restart := false
		switch c.HostConfig.RestartPolicy.Name {
		case container.RestartPolicyAlways:
			restart = true
		case container.RestartPolicyUnlessStopped:
			restart = !c.State.StoppedByUser
		case container.RestartPolicyOnFailure:
			restart = shouldRestart(c)
		}
		if restart {
			if err := s.startLocked(ctx, e); err != nil {
				s.log.Warn("restart on boot failed", "id", c.ID, "err", err)
			}
		}
		e.mu.Unlock()
	}
}
