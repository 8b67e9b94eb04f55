package containers

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/testgate"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/sys/signal"
	"golang.org/x/sys/unix"
)

// parseSignal accepts "SIGTERM", "TERM", "15"; "" gives def.
func parseSignal(s string, def unix.Signal) (unix.Signal, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, errdefs.Invalid("Invalid signal: %s", s)
		}
		return unix.Signal(n), nil
	}
	sig, err := signal.ParseSignal(strings.ToUpper(s))
	if err != nil {
		return 0, errdefs.Invalid("Invalid signal: %s", s)
	}
	return unix.Signal(sig), nil
}

// StopOptions: Signal "" means the container's StopSignal (default
// SIGTERM); Timeout nil means its StopTimeout (default 10 s); -1 waits forever.
type StopOptions struct {
	Signal  string
	Timeout *int
}

// Stop sends the stop signal, waits for the timeout, then kills.
func (s *Service) Stop(ctx context.Context, ref string, o StopOptions) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if s.stopPendingRestart(e) {
		e.mu.Unlock()
		return nil
	}
	if !e.c.State.Running() {
		e.mu.Unlock()
		return errdefs.NotModified("container already stopped")
	}
	e.c.State.StoppedByUser = true
	sigName := o.Signal
	if sigName == "" {
		sigName = e.c.Config.StopSignal
	}
	timeout := 10
	if e.c.Config.StopTimeout != nil {
		timeout = *e.c.Config.StopTimeout
	}
	if o.Timeout != nil {
		timeout = *o.Timeout
	}
	e.mu.Unlock()
	sig, err := parseSignal(sigName, unix.SIGTERM)
	if err != nil {
		return err
	}
	if err := s.stop(ctx, e, sig, timeout); err != nil {
		return err
	}
	s.emit(&e.c, evtypes.ActionStop, nil)
	return nil
}

// stop signals and waits; it returns once the run has ended.
func (s *Service) stop(ctx context.Context, e *entry, sig unix.Signal, timeout int) error {
	// The signal and its kill event under e.mu (see emitKill).
	e.mu.Lock()
	exited := e.exited
	paused := e.c.State.Status == StatusPaused
	pid := e.c.State.Pid
	if exited == nil {
		e.mu.Unlock()
		return nil
	}
	rt, err := s.runtimeOf(&e.c)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	var sent error
	if paused && sig != unix.SIGKILL {
		// A frozen process cannot handle the signal; thaw it after sending.
		sent = signalInit(ctx, rt, e.c.ID, pid, sig)
		rt.Resume(ctx, e.c.ID)
	} else if sent = signalInit(ctx, rt, e.c.ID, pid, sig); sent != nil {
		s.log.Debug("stop signal", "id", e.c.ID, "err", sent)
	}
	s.emitKill(e, sig)
	e.mu.Unlock()
	if sig != unix.SIGKILL {
		var deadline <-chan time.Time
		if timeout >= 0 {
			t := time.NewTimer(time.Duration(timeout) * time.Second)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-exited:
			return nil
		case <-deadline:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A SIGKILL that was delivered is not sent again (rm -f): Docker emits
	// one kill event for it.
	if sig != unix.SIGKILL || sent != nil {
		e.mu.Lock()
		if err := signalInit(context.WithoutCancel(ctx), rt, e.c.ID, pid, unix.SIGKILL); err != nil {
			s.log.Debug("kill", "id", e.c.ID, "err", err)
		}
		s.emitKill(e, unix.SIGKILL)
		e.mu.Unlock()
	}
	if paused {
		rt.Resume(ctx, e.c.ID)
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// emitKill records the kill event of sig, just sent to e's init. Caller
// holds e.mu, as it did while sending: the exit the signal causes reports
// its die event (onExit takes e.mu) after the kill, the order of Docker's
// events. The exit gate's "signalled" step holds it here.
func (s *Service) emitKill(e *entry, sig unix.Signal) {
	testgate.Wait(e.c.Name, "signalled")
	s.emit(&e.c, evtypes.ActionKill, map[string]string{"signal": strconv.Itoa(int(sig))})
}

// StopAll stops every running container at once (daemon shutdown without
// live-restore): the stop signal, then SIGKILL for what still runs when the
// daemon's shutdown-timeout (ctx's deadline) is nearly over.
func (s *Service) StopAll(ctx context.Context) {
	timeout := 10
	if dl, ok := ctx.Deadline(); ok {
		timeout = int(time.Until(dl).Seconds()) - 1
		if timeout < 0 {
			timeout = 0
		}
	}
	var wg sync.WaitGroup
	for _, e := range s.all() {
		e.mu.Lock()
		running := e.c.State.Running()
		id := e.c.ID
		e.mu.Unlock()
		if !running {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Stop(context.Background(), id, StopOptions{Timeout: &timeout}); err != nil && !errdefs.IsNotModified(err) {
				s.log.Warn("stop at shutdown", "id", id, "err", err)
			}
		}()
	}
	wg.Wait()
}

// Kill sends a signal to the container's main process.
func (s *Service) Kill(ctx context.Context, ref, sigName string) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	sig, err := parseSignal(sigName, unix.SIGKILL)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if s.stopPendingRestart(e) {
		e.mu.Unlock()
		return nil
	}
	if !e.c.State.Running() {
		e.mu.Unlock()
		return errdefs.Conflict("Container %s is not running", e.c.ID)
	}
	e.c.State.StoppedByUser = true
	exited := e.exited
	paused := e.c.State.Status == StatusPaused
	pid := e.c.State.Pid
	rt, err := s.runtimeOf(&e.c)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	// Signal and event under e.mu (see emitKill).
	if err := signalInit(ctx, rt, e.c.ID, pid, sig); err != nil {
		e.mu.Unlock()
		return errdefs.Conflict("Cannot kill container: %s: %v", e.c.ID, err)
	}
	s.emitKill(e, sig)
	e.mu.Unlock()
	if paused && sig == unix.SIGKILL {
		rt.Resume(ctx, e.c.ID)
	}
	if sig == unix.SIGKILL && exited != nil {
		// Docker's kill returns once a SIGKILLed container is gone.
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
	}
	return nil
}

// Restart stops (if running) and starts the container.
func (s *Service) Restart(ctx context.Context, ref string, o StopOptions) error {
	if err := s.Stop(ctx, ref, o); err != nil && !errdefs.IsNotModified(err) {
		return err
	}
	if err := s.Start(ctx, ref); err != nil {
		return err
	}
	if e, err := s.lookup(ref); err == nil {
		s.emit(&e.c, evtypes.ActionRestart, nil)
	}
	return nil
}

// WaitCondition: "not-running" (default), "next-exit" or "removed".
type WaitCondition string

// WaitResult is the exit of a waited-for run.
type WaitResult struct {
	ExitCode int
	Error    string
}

// Wait blocks until the condition holds. The returned function, called
// once the caller has sent its response headers, does the blocking: the
// docker CLI calls wait before start, so registration must be immediate.
func (s *Service) Wait(ctx context.Context, ref string, cond WaitCondition) (func(context.Context) (WaitResult, error), error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	switch cond {
	case "", "not-running", "next-exit", "removed":
	default:
		return nil, errdefs.Invalid("invalid condition: %q", cond)
	}
	var removed <-chan struct{}
	var target int
	e.view(func(c *Container) { removed, target = waitTarget(e, c, cond) })
	return func(ctx context.Context) (WaitResult, error) {
		if cond == "removed" {
			select {
			case <-removed:
				return s.lastExit(e), nil
			case <-ctx.Done():
				return WaitResult{}, ctx.Err()
			}
		}
		for {
			e.mu.Lock()
			done := e.ended >= target && (cond == "next-exit" || e.c.State.Status != StatusRestarting)
			ch := e.changed
			e.mu.Unlock()
			if done {
				return s.lastExit(e), nil
			}
			select {
			case <-ch:
			case <-removed:
				return s.lastExit(e), nil
			case <-ctx.Done():
				return WaitResult{}, ctx.Err()
			}
		}
	}, nil
}

// waitTarget is what Wait waits for (c is e's record): e's removal, or
// the count of ended runs that satisfies cond. Runs are counted as they
// start and end: waiting for "the run that is going on, or the next one"
// cannot miss a run that ends before the caller gets to block. Called
// through e.view.
func waitTarget(e *entry, c *Container, cond WaitCondition) (<-chan struct{}, int) {
	running := c.State.Running() || c.State.Status == StatusRestarting
	target := e.runs
	if !running {
		if cond != "next-exit" && cond != "removed" {
			target = e.ended // not running: satisfied at once
		} else {
			target = e.runs + 1
		}
	}
	return e.removed, target
}

func (s *Service) lastExit(e *entry) WaitResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	return WaitResult{ExitCode: e.c.State.ExitCode}
}
