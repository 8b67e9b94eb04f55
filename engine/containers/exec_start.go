package containers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
	evtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
)

// ExecStart runs the exec. With client == nil it runs detached and returns
// once the process runs; otherwise it streams until the process ends.
//
// The runtime's Exec verb runs under berth-monitor's exec-shim, which
// reaps the process and exits with its status; the shim reports on a pipe
// that the process runs ("ok PID") or that the runtime refused ("fail").
func (s *Service) ExecStart(ctx context.Context, id string, tty bool, consoleSize *[2]uint, client Stream) error {
	x, c, err := s.claimExec(id)
	if err != nil {
		return err
	}
	rt, err := s.runtimeOf(&c)
	if err != nil {
		return err
	}
	proc, err := s.execProcess(&c, x, tty)
	if err != nil {
		return err
	}
	procJSON, err := json.Marshal(proc)
	if err != nil {
		return fmt.Errorf("exec: process.json: %w", err)
	}
	// A short directory: the console socket's path must fit in 108 bytes,
	// which a path under the container's state directory may not.
	dir, err := os.MkdirTemp("", "berth-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	xio, err := newExecIO(dir, tty, client != nil && x.Config.AttachStdin)
	if err != nil {
		return err
	}
	cmd, pid, err := s.startExecShim(ctx, rt, &c, x, xio, dir, procJSON)
	if err != nil {
		xio.close()
		return err
	}
	s.emit(&c, evtypes.Action(string(evtypes.ActionExecStart)+": "+strings.Join(x.Config.Cmd, " ")), map[string]string{"execID": x.ID})
	var ptmx *os.File
	if tty {
		if ptmx, err = s.receiveExecPty(x, xio, consoleSize); err != nil {
			unix.Kill(pid, unix.SIGKILL)
			s.endExec(&c, x, shimExitCode(cmd))
			xio.close()
			return fmt.Errorf("exec: receive console: %w", err)
		}
	}
	x.mu.Lock()
	x.Running, x.Pid = true, pid
	x.mu.Unlock()
	// The rest lasts as long as the process: in the background for a
	// detached exec (`exec -d` returns once the process runs).
	if client == nil {
		go s.streamExec(&c, x, xio, cmd, ptmx, nil)
		return nil
	}
	s.streamExec(&c, x, xio, cmd, ptmx, client)
	return nil
}

// claimExec marks exec id started and returns it with a copy of its
// container's record; the container must be running.
func (s *Service) claimExec(id string) (*execEntry, Container, error) {
	x, err := s.execByID(id)
	if err != nil {
		return nil, Container{}, err
	}
	e, err := s.lookup(x.ContainerID)
	if err != nil {
		return nil, Container{}, err
	}
	x.mu.Lock()
	if x.Started {
		x.mu.Unlock()
		return nil, Container{}, errdefs.Conflict("Error: Exec command %s has already run", id)
	}
	x.Started = true
	x.mu.Unlock()

	e.mu.Lock()
	running := e.c.State.Status == StatusRunning
	c := e.c
	e.mu.Unlock()
	if !running {
		return nil, Container{}, errdefs.Conflict("Container %s is not running", c.ID)
	}
	return x, c, nil
}

// startExecShim has the runtime start the exec's process under the shim
// and returns the running shim and the process's pid. When the runtime
// refuses, the exec is finished and the error says why in Docker's words.
func (s *Service) startExecShim(ctx context.Context, rt *runtime.Runtime, c *Container, x *execEntry, xio *execIO, dir string, procJSON []byte) (*exec.Cmd, int, error) {
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return nil, 0, err
	}
	defer syncR.Close()
	pidFile := filepath.Join(dir, "pid")
	child := xio.child
	child.ExtraFiles = []*os.File{syncW} // fd 3
	cmd, err := rt.Exec(context.WithoutCancel(ctx), c.ID, &oci.ExecOpts{
		Process: procJSON, Dir: dir, PidFile: pidFile, Detach: true,
		Tty: xio.tty, ConsoleSocket: xio.sock,
		Shim: []string{monitor.ShimBinary(s.cfg.MonitorPath), "exec-shim", pidFile, "--"},
		IO:   child,
	})
	syncW.Close()
	if err != nil {
		x.finish(126)
		return nil, 0, err
	}
	xio.started()
	line, _ := bufio.NewReader(syncR).ReadString('\n') // "" when the shim died: a refusal
	pidStr, ok := strings.CutPrefix(strings.TrimSpace(line), "ok ")
	pid, perr := strconv.Atoi(pidStr)
	if !ok || perr != nil || pid <= 0 {
		// The runtime refused: its words are on stderr (the process never
		// ran, so nothing else can be there).
		shimExitCode(cmd)
		msg := xio.runtimeError()
		if msg == "" {
			msg = "the runtime could not start the process"
		}
		err := errdefs.Invalid("OCI runtime exec failed: exec failed: unable to start container process: %s", execDetail(msg, x.Config.Cmd[0]))
		x.finish(exitCodeOf(err))
		return nil, 0, err
	}
	return cmd, pid, nil
}

// receiveExecPty waits for the exec's pty master, records it for
// ExecResize and gives it its first size: a resize that came before it
// existed, else the start request's, else the exec's config's.
func (s *Service) receiveExecPty(x *execEntry, xio *execIO, consoleSize *[2]uint) (*os.File, error) {
	ptmx, err := xio.pty()
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	x.pty = ptmx
	size := x.pendingSize
	x.mu.Unlock()
	switch {
	case size != nil:
	case consoleSize != nil && consoleSize[0] > 0:
		size = &[2]uint16{uint16(consoleSize[0]), uint16(consoleSize[1])}
	case x.Config.ConsoleSize != nil && x.Config.ConsoleSize[0] > 0:
		size = &[2]uint16{uint16(x.Config.ConsoleSize[0]), uint16(x.Config.ConsoleSize[1])}
	}
	if size != nil {
		// A terminal left at its default size still works: say so in the
		// log, do not fail the exec.
		if err := monitor.SetWinsize(ptmx, size[0], size[1]); err != nil && s.log != nil {
			s.log.Debug("exec: set terminal size", "exec", x.ID, "err", err)
		}
	}
	return ptmx, nil
}

// streamExec copies the exec's stdio between the process and the client
// (nil: detached, output discarded) until the process ends, then records
// its exit and ends the client's stream. Every goroutine it starts has
// ended when it returns.
func (s *Service) streamExec(c *Container, x *execEntry, xio *execIO, cmd *exec.Cmd, ptmx *os.File, client Stream) {
	xio.copyOut(ptmx, client, x.Config.AttachStdout, x.Config.AttachStderr)
	stdin := client != nil && x.Config.AttachStdin
	if stdin {
		keys, _ := ParseDetachKeys(x.Config.DetachKeys) // checked at ExecCreate
		xio.copyIn(ptmx, client, keys)
	}
	code := shimExitCode(cmd)
	if ptmx != nil {
		interruptPty(ptmx)
	}
	// The output copiers end at EOF (or the pty's interruption); then
	// the exit is recorded before the client's stream ends, so a client
	// inspecting the exec at EOF sees its exit code.
	xio.waitOutput()
	if ptmx != nil {
		ptmx.Close()
	}
	s.endExec(c, x, code)
	if client != nil {
		client.CloseWrite()
		if stdin {
			// The stdin copier waits on the client: end its stream (the
			// API closes it once ExecStart returns anyway).
			client.Close()
		}
	}
	xio.close()
}

// endExec records the exec's exit and emits exec_die.
func (s *Service) endExec(c *Container, x *execEntry, code int) {
	x.finish(code)
	s.emit(c, evtypes.ActionExecDie, map[string]string{"execID": x.ID, "exitCode": strconv.Itoa(code)})
}

// shimExitCode waits for the exec shim, whose status is the process's
// (255 when unknown).
func shimExitCode(cmd *exec.Cmd) int {
	cmd.Wait() // the status is the answer; an exit error says no more
	if cmd.ProcessState == nil {
		return 255
	}
	return cmd.ProcessState.ExitCode()
}
