package containers

import (
	"context"
	"time"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/moby/moby/api/types/container"
)

// Stats samples the container's resource use once a second and hands each
// sample (with the previous one as PreCPUStats) to emit, until ctx ends,
// the container stops, or, without stream, after one sample (two with
// precpu figures unless oneShot), as Docker's stats endpoint does.
func (s *Service) Stats(ctx context.Context, ref string, stream, oneShot bool, emit func(*container.StatsResponse) error) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	sample := func() (*container.StatsResponse, bool) {
		e.mu.Lock()
		c := e.c
		e.mu.Unlock()
		st := container.StatsResponse{ID: c.ID, Name: "/" + c.Name, Read: time.Now(), OSType: "linux"}
		if c.State.Running() {
			st = runtime.Stats(s.cgroupParentOf(&c), c.ID, c.State.Pid)
			if s.runtimes.IsSandbox(c.Runtime) {
				if rt, err := s.runtimeOf(&c); err == nil {
					if err := rt.SandboxStats(ctx, c.ID, &st); err != nil {
						s.log.Debug("sandbox stats", "id", c.ID, "err", err)
					}
				}
			}
			st.ID, st.Name = c.ID, "/"+c.Name
		}
		return &st, c.State.Running()
	}
	prev, running := sample()
	if oneShot || !running {
		return emit(prev)
	}
	if stream {
		// The first streamed sample goes out at once, without precpu.
		if err := emit(prev); err != nil {
			return err
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur, running := sample()
		cur.PreRead, cur.PreCPUStats = prev.Read, prev.CPUStats
		if err := emit(cur); err != nil {
			return err
		}
		if !stream || !running {
			return nil
		}
		prev = cur
	}
}
