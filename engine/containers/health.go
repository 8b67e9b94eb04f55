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
	var cmd []string
	switch hc.Test[0] {
	case "CMD":
		cmd = hc.Test[1:]
	case "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(hc.Test[1:], " ")}
	default:
		cmd = hc.Test
	}
	if len(cmd) == 0 {
		e.health = nil
		return
	}
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = healthInterval
	}
	if timeout <= 0 {
		timeout = healthTimeout
	}
	if retries <= 0 {
		retries = healthRetries
	}
	startInterval := hc.StartInterval
	if startInterval <= 0 {
		startInterval = interval
	}
	e.health = &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}
	started := time.Now()
	id := e.c.ID
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			wait := interval
			if time.Since(started) < hc.StartPeriod {
				wait = startInterval
			}
			t := time.NewTimer(wait)
			select {
			case <-exited:
				t.Stop()
				return
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			res := s.probe(id, cmd, timeout)
			e.mu.Lock()
			h := e.health
			if h == nil || e.exited != exited {
				e.mu.Unlock()
				return
			}
			h.Log = append(h.Log, res)
			if len(h.Log) > healthLogEntries {
				h.Log = h.Log[len(h.Log)-healthLogEntries:]
			}
			old := h.Status
			if res.ExitCode == 0 {
				h.FailingStreak = 0
				h.Status = container.Healthy
			} else if time.Since(started) >= hc.StartPeriod || h.Status != container.Starting {
				h.FailingStreak++
				if h.FailingStreak >= retries {
					h.Status = container.Unhealthy
				}
			}
			c := e.c
			status := h.Status
			e.mu.Unlock()
			if status != old {
				s.emit(&c, evtypes.Action("health_status: "+string(status)), nil)
			}
		}
	}()
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
