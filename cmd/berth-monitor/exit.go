package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
)

// waitInit returns once the container's init has exited, reaping every
// child (the monitor is a subreaper, so orphans of the container land here
// too). Driven by SIGCHLD, no polling.
func (m *mon) waitInit(sigchld <-chan os.Signal) {
	for !m.reap() {
		<-sigchld
	}
}

// reap collects every exited child; it reports whether the init was one.
// It must not run while an exec.Cmd of ours is being waited for: the
// runtime's start, which may run while the container does, holds execMu.
func (m *mon) reap() bool {
	m.execMu.Lock()
	defer m.execMu.Unlock()
	found := false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return found
		}
		if pid == m.initPid {
			found = true
			m.status.FinishedAt = time.Now().UTC()
			switch {
			case ws.Exited():
				m.status.ExitCode = ws.ExitStatus()
			case ws.Signaled():
				m.status.ExitCode = 128 + int(ws.Signal())
			default:
				m.status.ExitCode = 255
			}
		}
	}
}

// shortLived is how long the first image waits for a started container's
// init to exit before it re-execs to serve (serve.go). Output is not read
// meanwhile (it waits in the pipe or the pty), so a longer-lived container's
// first output reaches attach clients that much later.
const shortLived = 20 * time.Millisecond

// exitedWithin reports whether the started container's init exits within d,
// leaving it to be reaped by waitInit. Driven by SIGCHLD, no polling.
func (m *mon) exitedWithin(sigchld <-chan os.Signal, d time.Duration) bool {
	if !m.started {
		return false // it waits for StartContainer
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		var info unix.Siginfo
		// WNOWAIT: only look; the status stays for reap.
		err := unix.Waitid(unix.P_PID, m.initPid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == nil && info.Signo != 0 {
			return true
		}
		if err != nil && err != unix.EINTR {
			return false
		}
		select {
		case <-sigchld:
		case <-t.C:
			return false
		}
	}
}

// drainTimeout bounds how long output is read after the init exited: with
// a shared pid namespace, processes the init left behind may keep the pipes
// open forever.
const drainTimeout = 1500 * time.Millisecond

// drain reads the output the init left, for at most drainTimeout.
func (m *mon) drain() {
	drained := make(chan struct{})
	go func() { m.pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		for _, f := range m.outs {
			if f != nil {
				f.SetReadDeadline(time.Unix(1, 0))
			}
		}
		<-drained
	}
}

// cleanup deletes the exited container's runtime state, then releases the
// state directory's lock: the next run may create it again.
func (m *mon) cleanup() {
	m.execMu.Lock()
	m.removeRuntimeState()
	m.execMu.Unlock()
	m.reap()
	if m.lock != nil {
		m.lock.Close()
	}
}

// stateWait bounds how long the removal of an exited container's runtime
// state waits for processes of its cgroup that are still exiting before it
// leaves them to the runtime's delete (which kills them).
const stateWait = 2 * time.Second

// removeRuntimeState deletes the exited container's runtime state: by
// hand where berthd said that is all the runtime's delete would do
// (monitor.RemoveState), else, or when that meets anything unusual, with
// the runtime's delete.
func (m *mon) removeRuntimeState() {
	if m.cfg.RuntimeState != "" {
		err := monitor.RemoveState(m.cfg.RuntimeState, m.cfg.Cgroups, stateWait)
		if err == nil {
			return
		}
		fmt.Fprintln(os.Stderr, "berth-monitor: runtime delete after:", err)
	}
	m.deleteContainer()
}

// finish runs once the init has exited: drain output, record the status
// (flushed to disk first: a crash loses no exit code), answer waiters, then
// delete the container while attach clients are flushed and closed.
func (m *mon) finish() {
	m.drain()
	if m.log != nil {
		if err := m.log.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "berth-monitor: close container log:", err)
		}
	}
	// Read before delete: delete removes the cgroup.
	m.status.OOMKilled = readOOMKills(m.oomFile) > m.oomBase
	if err := monitor.WriteExit(m.cfg.StateDir, m.status, !m.cfg.ExitNoSync); err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor:", err)
	}
	// Stop accepting first; late callers find exit.json instead.
	m.removeSockets()
	m.mu.Lock()
	m.closing = true
	clients := m.clients
	m.clients = nil
	m.mu.Unlock()
	for c := range clients {
		c.end()
	}
	close(m.exited)

	m.cleanup()
	<-m.ctlDone
	deadline := time.After(2 * time.Second)
	done := make(chan struct{})
	go func() {
		m.ctlWG.Wait()
		for c := range clients {
			<-c.done
		}
		close(done)
	}()
	select {
	case <-done:
	case <-deadline:
	}
}
