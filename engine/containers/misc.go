package containers

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/filters"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
)

// Rename gives a container a new name.
func (s *Service) Rename(ctx context.Context, ref, newName string) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	newName = strings.TrimPrefix(newName, "/")
	if newName == "" {
		return errdefs.Invalid("Neither old nor new names may be empty")
	}
	if !validName.MatchString(newName) {
		return errdefs.Invalid("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	s.discardPrep(e) // the name is in its spec's annotations and DNS
	old := e.c.Name
	if old == newName {
		return errdefs.Invalid("Renaming a container with the same name as its current name")
	}
	if other, ok := s.byName[newName]; ok {
		return errdefs.Conflict("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", newName, other)
	}
	e.c.Name = newName
	if err := s.persist(e); err != nil {
		e.c.Name = old
		return err
	}
	delete(s.byName, old)
	s.byName[newName] = e.c.ID
	s.emit(&e.c, evtypes.ActionRename, map[string]string{"oldName": "/" + old})
	return nil
}

// Pause freezes a running container.
func (s *Service) Pause(ctx context.Context, ref string) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.c.State.Status {
	case StatusPaused:
		return errdefs.Conflict("Container %s is already paused", e.c.ID)
	case StatusRunning:
	default:
		return errdefs.Conflict("Container %s is not running", e.c.ID)
	}
	rt, err := s.runtimeOf(&e.c)
	if err != nil {
		return err
	}
	if err := rt.Pause(ctx, e.c.ID); err != nil {
		return err
	}
	e.c.State.Status = StatusPaused
	s.persist(e)
	e.notify()
	s.emit(&e.c, evtypes.ActionPause, nil)
	return nil
}

// Unpause thaws a paused container.
func (s *Service) Unpause(ctx context.Context, ref string) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c.State.Status != StatusPaused {
		return errdefs.Conflict("Container %s is not paused", e.c.ID)
	}
	rt, err := s.runtimeOf(&e.c)
	if err != nil {
		return err
	}
	if err := rt.Resume(ctx, e.c.ID); err != nil {
		return err
	}
	e.c.State.Status = StatusRunning
	s.persist(e)
	e.notify()
	s.emit(&e.c, evtypes.ActionUnPause, nil)
	return nil
}

// Top runs the host's ps with psArgs and keeps the container's processes.
func (s *Service) Top(ctx context.Context, ref, psArgs string) (*container.TopResponse, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	running := e.c.State.Running()
	c := e.c
	e.mu.Unlock()
	if !running {
		return nil, errdefs.Conflict("Container %s is not running", c.ID)
	}
	rt, err := s.runtimeOf(&c)
	if err != nil {
		return nil, err
	}
	if s.runtimes.IsSandbox(c.Runtime) {
		if psArgs != "" && psArgs != "-ef" {
			return nil, errdefs.Invalid("ps options (%s) are not supported with sandbox isolation: the sandbox's processes are listed by runsc ps", psArgs)
		}
		resp, err := rt.SandboxTop(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		s.emit(&c, evtypes.ActionTop, nil)
		return resp, nil
	}
	pids, err := rt.Ps(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	s.emit(&c, evtypes.ActionTop, nil)
	if psArgs == "" {
		psArgs = "-ef"
	}
	out, err := exec.CommandContext(ctx, "ps", strings.Fields(psArgs)...).Output()
	if err != nil {
		return nil, errdefs.Invalid("ps: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 {
		return &container.TopResponse{}, nil
	}
	titles := strings.Fields(lines[0])
	pidCol := -1
	for i, t := range titles {
		if t == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return nil, errdefs.Invalid("Couldn't find PID field in ps output")
	}
	want := map[int]bool{}
	for _, p := range pids {
		want[p] = true
	}
	resp := &container.TopResponse{Titles: titles, Processes: [][]string{}}
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) <= pidCol {
			continue
		}
		pid, err := strconv.Atoi(fields[pidCol])
		if err != nil || !want[pid] {
			continue
		}
		// The last column (command) may contain spaces.
		row := fields[:len(titles)-1]
		row = append(append([]string{}, row...), strings.Join(fields[len(titles)-1:], " "))
		resp.Processes = append(resp.Processes, row)
	}
	return resp, nil
}

// Prune removes every stopped container that matches the filters: label
// and label! ("key" or "key=value"), until (created before a timestamp or
// a duration ago).
func (s *Service) Prune(ctx context.Context, f map[string][]string) (*container.PruneReport, error) {
	if err := filters.Validate(f, pruneFilterKeys...); err != nil {
		return nil, err
	}
	until, err := filters.Until(f, "until", time.Now())
	if err != nil {
		return nil, err
	}
	rep := &container.PruneReport{ContainersDeleted: []string{}}
	for _, e := range s.all() {
		e.mu.Lock()
		c := e.c
		e.mu.Unlock()
		if c.State.Running() || c.State.Status == StatusRemoving {
			continue
		}
		if !until.IsZero() && !c.Created.Before(until) {
			continue
		}
		if !filters.Labels(f, c.Config.Labels) {
			continue
		}
		var rw int64
		if r, _, err := s.images.RootfsSize(ctx, c.ID); err == nil {
			rw = r
		}
		if err := s.Remove(ctx, c.ID, RemoveOptions{}); err != nil {
			continue
		}
		rep.ContainersDeleted = append(rep.ContainersDeleted, c.ID)
		rep.SpaceReclaimed += uint64(rw)
	}
	return rep, nil
}
