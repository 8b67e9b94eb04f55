package containers

import (
	"context"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
)

// ReopenLog makes a running container's monitor open its log file again,
// after whoever rotates it (kubelet, through the CRI) renamed it.
func (s *Service) ReopenLog(ctx context.Context, ref string) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	running := e.c.State.Running()
	id := e.c.ID
	e.mu.Unlock()
	if !running {
		return errdefs.Conflict("Container %s is not running", id)
	}
	return monitor.ReopenLog(ctx, s.stateDir(id))
}
