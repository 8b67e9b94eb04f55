package containers

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
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
// as Docker does: a probe every Interval (StartInterval during the start
// period), exec'd in the container, killed after Timeout; Retries failures
// in a row make it unhealthy; failures in StartPeriod do not count.
// Caller holds e.mu.
func (s *Service) startHealthcheck(e *entry, exited chan struct{}) {
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
	e.health = &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runHealthcheck(e, exited, cmd, newHealthTiming(hc))
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

func newHealthTiming(hc *container.HealthConfig) healthTiming {
	t := healthTiming{interval: hc.Interval, timeout: hc.Timeout, retries: hc.Retries,
		startInterval: hc.StartInterval, startPeriod: hc.StartPeriod, started: time.Now()}
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

func (t healthTiming) inStartPeriod() bool { return time.Since(t.started) < t.startPeriod }

// runHealthcheck probes the container on schedule until this run of it
// ends or berthd shuts down, emitting health_status on each change.
func (s *Service) runHealthcheck(e *entry, exited chan struct{}, cmd []string, t healthTiming) {
	id := e.c.ID
	for {
		wait := t.interval
		if t.inStartPeriod() {
			wait = t.startInterval
		}
		timer := time.NewTimer(wait)
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
		status := h.Status
		e.mu.Unlock()
		if status != old {
			s.emit(&c, evtypes.Action("health_status: "+string(status)), nil)
		}
	}
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
	} else if !t.inStartPeriod() || h.Status != container.Starting {
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
