package containers

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
)

// Docker's healthcheck defaults and limits.
const (
	healthInterval    = 30 * time.Second
	healthTimeout     = 30 * time.Second
	healthRetries     = 3
	healthLogEntries  = 5
	healthOutputLimit = 4096
)

// startHealthcheck runs the container's HEALTHCHECK while this run lasts,
// as Docker does: a probe every Interval (StartInterval while starting in
// the start period), exec'd in the container, killed after Timeout;
// Retries failures in a row make it unhealthy; failures in StartPeriod do
// not count until a probe succeeds. Caller holds e.mu.
func (s *Service) startHealthcheck(e *entry, exited chan struct{}) {
	s.monitorHealth(e, exited, nil)
}

// resumeHealthcheck runs the HEALTHCHECK of a run that a previous berthd
// started and this one re-adopts, from the health that berthd recorded
// (status, failing streak, log), so a healthy container stays healthy
// across the restart and its next probes add to its log. Caller holds
// e.mu.
func (s *Service) resumeHealthcheck(e *entry, exited chan struct{}) {
	s.monitorHealth(e, exited, loadHealth(s.stateDir(e.c.ID), e.c.State.StartedAt))
}

// monitorHealth starts the healthcheck of the current run from h (nil: a
// new run's, starting). Caller holds e.mu.
func (s *Service) monitorHealth(e *entry, exited chan struct{}, h *container.Health) {
	hc := e.c.Config.Healthcheck
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		e.health = nil
		return
	}
	cmd := healthCommand(hc.Test)
	if len(cmd) == 0 {
		e.health = nil
		return
	}
	if h == nil {
		h = &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}
	}
	e.health = h
	t := newHealthTiming(hc, e.c.State.StartedAt)
	status := h.Status
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runHealthcheck(e, exited, cmd, t, status)
	}()
}

// healthCommand is the command a healthcheck's test runs.
func healthCommand(test []string) []string {
	switch test[0] {
	case "CMD":
		return test[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", strings.Join(test[1:], " ")}
	}
	return test
}

// healthTiming is a healthcheck's schedule, with Docker's defaults.
type healthTiming struct {
	interval, startInterval, timeout, startPeriod time.Duration
	retries                                       int
	started                                       time.Time
}

// newHealthTiming is hc's schedule for a run started at started: the start
// period counts from the container's start, as Docker's does, so a run
// re-adopted by a restarted berthd is in it only if it started recently.
func newHealthTiming(hc *container.HealthConfig, started time.Time) healthTiming {
	t := healthTiming{interval: hc.Interval, timeout: hc.Timeout, retries: hc.Retries,
		startInterval: hc.StartInterval, startPeriod: hc.StartPeriod, started: started}
	if t.interval <= 0 {
		t.interval = healthInterval
	}
	if t.timeout <= 0 {
		t.timeout = healthTimeout
	}
	if t.retries <= 0 {
		t.retries = healthRetries
	}
	if t.startInterval <= 0 {
		t.startInterval = t.interval
	}
	return t
}

// inStartPeriod reports whether at is in the run's start period.
func (t healthTiming) inStartPeriod(at time.Time) bool { return at.Sub(t.started) < t.startPeriod }

// wait is the time from now to the next probe: StartInterval while the
// container is starting in its start period, else Interval; during the
// start period no later than its end, whose probe then counts failures,
// as Docker schedules it.
func (t healthTiming) wait(now time.Time, status container.HealthStatus) time.Duration {
	left := t.startPeriod - now.Sub(t.started)
	if left <= 0 {
		return t.interval
	}
	w := t.interval
	if status == container.Starting {
		w = t.startInterval
	}
	return min(w, left)
}

// runHealthcheck probes the container on schedule until this run of it
// ends or berthd shuts down, emitting health_status on each change and
// recording the health in the run's state directory after each probe.
func (s *Service) runHealthcheck(e *entry, exited chan struct{}, cmd []string, t healthTiming, status container.HealthStatus) {
	id := e.c.ID
	for {
		timer := time.NewTimer(t.wait(time.Now(), status))
		select {
		case <-exited:
			timer.Stop()
			return
		case <-s.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		res := s.probe(id, cmd, t.timeout)
		e.mu.Lock()
		h := e.health
		if h == nil || e.exited != exited {
			e.mu.Unlock()
			return
		}
		old := recordProbe(h, res, t)
		c := e.c
		status = h.Status
		saved, err := json.Marshal(savedHealth{StartedAt: c.State.StartedAt, Health: h})
		e.mu.Unlock()
		if err == nil {
			err = writeFileReplace(filepath.Join(s.stateDir(id), healthFile), saved, 0o600)
		}
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("health not recorded", "id", id, "err", err)
		}
		if status != old {
			s.emit(&c, evtypes.Action("health_status: "+string(status)), nil)
		}
	}
}

// healthFile, in a run's state directory, holds the run's health for the
// next berthd: the exec-root outlives berthd, not the machine, as the run.
const healthFile = "health.json"

// savedHealth is healthFile's content: the health of the run started at
// StartedAt.
type savedHealth struct {
	StartedAt time.Time
	Health    *container.Health
}

// loadHealth is the health recorded in stateDir for the run started at
// startedAt; nil when there is none (no probe ran yet) or it is another
// run's (a probe's record written as that run ended).
func loadHealth(stateDir string, startedAt time.Time) *container.Health {
	data, err := os.ReadFile(filepath.Join(stateDir, healthFile))
	if err != nil {
		return nil
	}
	var sh savedHealth
	if json.Unmarshal(data, &sh) != nil || sh.Health == nil || !sh.StartedAt.Equal(startedAt) {
		return nil
	}
	switch sh.Health.Status {
	case container.Starting, container.Healthy, container.Unhealthy:
	default:
		return nil
	}
	if sh.Health.Log == nil {
		sh.Health.Log = []*container.HealthcheckResult{}
	}
	return sh.Health
}

// recordProbe adds a probe's result to h and moves its status, returning
// the status before.
func recordProbe(h *container.Health, res *container.HealthcheckResult, t healthTiming) container.HealthStatus {
	h.Log = append(h.Log, res)
	if len(h.Log) > healthLogEntries {
		h.Log = h.Log[len(h.Log)-healthLogEntries:]
	}
	old := h.Status
	if res.ExitCode == 0 {
		h.FailingStreak = 0
		h.Status = container.Healthy
	} else if !t.inStartPeriod(res.Start) || h.Status != container.Starting {
		h.FailingStreak++
		if h.FailingStreak >= t.retries {
			h.Status = container.Unhealthy
		}
	}
	return old
}

// probe runs one healthcheck command and reports its result.
func (s *Service) probe(id string, cmd []string, timeout time.Duration) *container.HealthcheckResult {
	res := &container.HealthcheckResult{Start: time.Now()}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	execID, err := s.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		res.End, res.ExitCode, res.Output = time.Now(), -1, err.Error()
		return res
	}
	out := &captureStream{done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- s.ExecStart(context.Background(), execID, false, nil, out) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		if x, xerr := s.execByID(execID); xerr == nil {
			x.mu.Lock()
			pid := x.Pid
			x.mu.Unlock()
			if pid > 0 {
				killPid(pid)
			}
		}
		<-errc
		res.End, res.ExitCode = time.Now(), -1
		res.Output = "Health check exceeded timeout (" + timeout.String() + ")"
		s.forgetExec(id, execID)
		return res
	}
	res.End = time.Now()
	res.Output = out.text()
	if x, xerr := s.execByID(execID); xerr == nil {
		x.mu.Lock()
		if x.ExitCode != nil {
			res.ExitCode = *x.ExitCode
		}
		x.mu.Unlock()
	}
	if err != nil {
		res.ExitCode, res.Output = -1, err.Error()
	}
	s.forgetExec(id, execID)
	return res
}

// forgetExec drops a finished exec's record (health probes leave none).
func (s *Service) forgetExec(containerID, execID string) {
	execIndex.Delete(execID)
	if e, err := s.lookup(containerID); err == nil {
		e.mu.Lock()
		delete(e.execs, execID)
		e.mu.Unlock()
	}
}

// captureStream collects an exec's multiplexed output in memory.
type captureStream struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	once sync.Once
}

func (c *captureStream) Read(p []byte) (int, error) { return 0, io.EOF }
func (c *captureStream) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() < 4*healthOutputLimit {
		c.buf.Write(p)
	}
	return len(p), nil
}
func (c *captureStream) Close() error      { c.once.Do(func() { close(c.done) }); return nil }
func (c *captureStream) CloseWrite() error { return c.Close() }

// text strips the stream framing and keeps the first 4 KiB, as Docker does.
func (c *captureStream) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	data := c.buf.Bytes()
	var out bytes.Buffer
	for len(data) >= 8 {
		n := int(binary.BigEndian.Uint32(data[4:8]))
		if 8+n > len(data) {
			break
		}
		out.Write(data[8 : 8+n])
		data = data[8+n:]
	}
	s := out.String()
	if len(s) > healthOutputLimit {
		s = s[:healthOutputLimit]
	}
	return s
}

// killPid ends a probe that ran past its timeout.
func killPid(pid int) { syscallKill(pid) }
