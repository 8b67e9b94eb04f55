package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Start writes StateDir/monitor.json, launches `binary StateDir` in a session
// of its own (so it outlives berthd and its signals), and waits for the
// monitor to report that `runtime create` succeeded. The container is then
// CREATED: its init waits for StartContainer. With cfg.Start the monitor
// starts it too before it reports, and the container is RUNNING. Start
// returns the init's pid and the monitor's pid.
//
// On failure the runtime's own error text comes back as a *RuntimeError and
// no runtime state is left (the monitor ran `runtime delete --force`). If ctx
// ends first, the monitor is killed and ctx's error returned: the caller
// deletes what the runtime may have made (its Delete verb), as this package
// runs no runtime.
//
// Files left by a previous run in StateDir (exit status, pid file, sockets)
// are removed first, so StateDir may be reused for a restart.
func Start(ctx context.Context, binary string, cfg Config) (initPid, monitorPid int, err error) {
	initPid, monitorPid, _, err = StartAttached(ctx, binary, cfg)
	return initPid, monitorPid, err
}

// StartAttached is Start with attach sessions joined before the container
// exists: for each cfg.Attach entry the monitor is handed one end of a
// connected socket pair at launch, and the other end is returned, in order,
// as Attach would return it. The monitor registers them before the
// container's process can write, so no output is lost to them, and without
// the round trip of Attach after Start. On error no connection is returned.
func StartAttached(ctx context.Context, binary string, cfg Config) (initPid, monitorPid int, attach []*net.UnixConn, err error) {
	if err := prepareStateDir(&cfg, false); err != nil {
		return 0, 0, nil, err
	}
	attach, theirs, err := attachPairs(len(cfg.Attach))
	if err != nil {
		return 0, 0, nil, err
	}
	syncR, monitorPid, err := launch(Binary(binary, cfg), []string{cfg.StateDir}, cfg.StateDir, theirs)
	closeAll(theirs)
	if err != nil {
		closeConns(attach)
		return 0, 0, nil, err
	}
	defer syncR.Close()
	rep, err := awaitReady(ctx, syncR, monitorPid, filepath.Join(cfg.StateDir, LogFile))
	initPid = rep.Pid
	if err != nil {
		closeConns(attach)
		return 0, 0, nil, err
	}
	return initPid, monitorPid, attach, nil
}

// attachPairs makes n connected stream socket pairs: our ends as
// connections, the monitor's as files to hand over.
func attachPairs(n int) (ours []*net.UnixConn, theirs []*os.File, err error) {
	for i := 0; i < n; i++ {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			closeConns(ours)
			closeAll(theirs)
			return nil, nil, fmt.Errorf("attach socket pair: %w", err)
		}
		f := os.NewFile(uintptr(fds[0]), "attach")
		c, err := net.FileConn(f) // dups f
		f.Close()
		if err != nil {
			unix.Close(fds[1])
			closeConns(ours)
			closeAll(theirs)
			return nil, nil, fmt.Errorf("attach socket pair: %w", err)
		}
		ours = append(ours, c.(*net.UnixConn))
		theirs = append(theirs, os.NewFile(uintptr(fds[1]), "attach-monitor"))
	}
	return ours, theirs, nil
}

func closeConns(cs []*net.UnixConn) {
	for _, c := range cs {
		c.Close()
	}
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// prepareStateDir makes cfg's paths absolute, clears StateDir of a previous
// run's files (unless fresh: the caller emptied it) and writes the
// monitor's config there.
func prepareStateDir(cfg *Config, fresh bool) (err error) {
	if cfg.ID == "" || cfg.Runtime == "" || cfg.Bundle == "" || cfg.StateDir == "" {
		return errors.New("monitor: config needs ID, Runtime, Bundle and StateDir")
	}
	for _, p := range []*string{&cfg.Runtime, &cfg.Bundle, &cfg.StateDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if cfg.LogPath != "" {
		if cfg.LogPath, err = filepath.Abs(cfg.LogPath); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("create container state directory: %w", err)
	}
	for _, name := range []string{ExitFile, InitPidFile, AttachSocket, CtlSocket, ConsoleSocket, RuntimeLog} {
		if !fresh {
			os.Remove(filepath.Join(cfg.StateDir, name))
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	// Not flushed to disk: only this run's monitor reads it, and a machine
	// crash ends that monitor (the exec-root is usually a tmpfs anyway).
	if err := writeFileAtomic(filepath.Join(cfg.StateDir, ConfigFile), append(b, '\n'), 0o600, false); err != nil {
		return fmt.Errorf("write monitor config: %w", err)
	}
	return nil
}

// launch starts `binary args...` in a session of its own, its output to
// the state directory's log, and returns the read end of the pipe on which
// it reports (fd 3 in the monitor). extra become fds 4, 5, ... there.
func launch(binary string, args []string, stateDir string, extra []*os.File) (syncR *os.File, monitorPid int, err error) {
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	out, err := os.OpenFile(filepath.Join(stateDir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		out, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			syncR.Close()
			syncW.Close()
			return nil, 0, err
		}
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// One P from the first instruction: each extra P keeps its own cache of
	// heap spans, about 170 kB per idle monitor. The monitor does not pass
	// this on to the runtime.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.ExtraFiles = append([]*os.File{syncW}, extra...) // fd 3, then FirstAttachFd...
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	syncW.Close()
	out.Close()
	if err != nil {
		syncR.Close()
		return nil, 0, fmt.Errorf("start container monitor %s: %w", binary, err)
	}
	monitorPid = cmd.Process.Pid
	reapWhenDone(cmd.Process)
	return syncR, monitorPid, nil
}

// awaitReady reads the monitor's report: the init's pid once the runtime
// created the container (and whether a release request started it), or
// why it could not. If ctx ends first, the monitor is killed.
func awaitReady(ctx context.Context, syncR *os.File, monitorPid int, logPath string) (Ready, error) {
	type result struct {
		rep Ready
		err error
	}
	ch := make(chan result, 1)
	go func() { // ends when syncR is closed at the latest
		line, err := bufio.NewReader(syncR).ReadBytes('\n')
		if err != nil {
			ch <- result{err: err}
			return
		}
		var r result
		r.err = json.Unmarshal(line, &r.rep)
		ch <- r
	}()
	select {
	case <-ctx.Done():
		// By pid: the process was released to reapWhenDone, and the
		// monitor, our unreaped child, cannot have given its pid away yet.
		syscall.Kill(monitorPid, syscall.SIGKILL)
		return Ready{}, ctx.Err()
	case r := <-ch:
		switch {
		case r.err != nil:
			msg := tail(logPath)
			if msg == "" {
				msg = "no output"
			}
			return Ready{}, fmt.Errorf("container monitor exited before the container was created: %s", msg)
		case r.rep.Error != "" && r.rep.RuntimeExitCode != nil:
			op := r.rep.RuntimeOp
			if op == "" {
				op = "create"
			}
			return Ready{}, &RuntimeError{Op: op, Msg: r.rep.Error, ExitCode: *r.rep.RuntimeExitCode}
		case r.rep.Error != "":
			return Ready{}, fmt.Errorf("container monitor: %s", r.rep.Error)
		case r.rep.Pid <= 0:
			return Ready{}, errors.New("container monitor reported no init pid")
		}
		return r.rep, nil
	}
}

// tail returns the last line of the monitor's own log, for errors.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// reapWhenDone collects the monitor's exit status whenever it ends while
// berthd lives, so it leaves no zombie. It waits on a pidfd through the Go
// runtime's poller: a goroutine in wait4 would hold an OS thread for as long
// as the container runs, one per running container, and Go keeps threads
// once made (berthd had 213 after 200 containers were gone). Where pidfds
// are missing (Linux < 5.3) it falls back to a blocking wait.
func reapWhenDone(p *os.Process) {
	pid := p.Pid
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		go p.Wait()
		return
	}
	// os.Process's own handle is not needed: the monitor stays our child
	// (a zombie keeps its pid) until the pidfd below reaps it.
	p.Release()
	f := os.NewFile(uintptr(fd), "monitor-pidfd")
	go func() {
		defer f.Close()
		rc, err := f.SyscallConn()
		if err == nil {
			var werr error
			err = rc.Read(func(fd uintptr) bool {
				var info unix.Siginfo
				werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG, nil)
				if werr == unix.EINTR {
					return false
				}
				// With WNOHANG and no exit yet, the kernel leaves Signo 0.
				return werr != nil || info.Signo != 0
			})
			if err == nil {
				err = werr
			}
		}
		if err != nil && err != unix.ECHILD {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
	}()
}
