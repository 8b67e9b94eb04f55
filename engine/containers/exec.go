package containers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/stdcopy"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// execEntry is one exec instance (in memory only, as in Docker).
type execEntry struct {
	mu          sync.Mutex
	ID          string
	ContainerID string
	Config      container.ExecCreateRequest
	Running     bool
	Started     bool
	ExitCode    *int
	Pid         int
	pty         *os.File
	pendingSize *[2]uint16 // a resize that came before the TTY existed
	done        chan struct{}
}

// execs indexes every exec by ID, across containers.
var execIndex sync.Map // exec ID -> *execEntry

// ExecCreate registers a command to run in a running container.
func (s *Service) ExecCreate(ctx context.Context, ref string, req container.ExecCreateRequest) (string, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return "", err
	}
	if len(req.Cmd) == 0 {
		return "", errdefs.Invalid("No exec command specified")
	}
	if _, err := ParseDetachKeys(req.DetachKeys); err != nil {
		return "", err
	}
	wd, err := cleanWorkingDir(req.WorkingDir)
	if err != nil {
		return "", err
	}
	req.WorkingDir = wd
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c.State.Status == StatusPaused {
		return "", errdefs.Conflict("Container %s is paused, unpause the container before exec", e.c.ID)
	}
	if e.c.State.Status != StatusRunning {
		return "", errdefs.Conflict("Container %s is not running", e.c.ID)
	}
	if req.Tty && req.AttachStdin && s.runtimes.IsSandbox(e.c.Runtime) {
		return "", errdefs.Invalid("%s", runtime.SandboxInteractiveTTY)
	}
	if len(e.execs) > 32 {
		// Finished execs are kept for inspect (the CLI reads the exit code
		// right after); beyond a few dozen, the finished ones go.
		for id, old := range e.execs {
			old.mu.Lock()
			finished := old.Started && !old.Running && old.ExitCode != nil
			old.mu.Unlock()
			if finished {
				delete(e.execs, id)
				execIndex.Delete(id)
			}
		}
	}
	x := &execEntry{ID: stringid.New(), ContainerID: e.c.ID, Config: req, done: make(chan struct{})}
	e.execs[x.ID] = x
	execIndex.Store(x.ID, x)
	s.emit(&e.c, evtypes.Action(string(evtypes.ActionExecCreate)+": "+strings.Join(req.Cmd, " ")), map[string]string{"execID": x.ID})
	return x.ID, nil
}

func (s *Service) execByID(id string) (*execEntry, error) {
	v, ok := execIndex.Load(id)
	if !ok {
		return nil, errdefs.NotFound("No such exec instance: %s", id)
	}
	return v.(*execEntry), nil
}

// ExecInspect reports an exec's state.
func (s *Service) ExecInspect(ctx context.Context, id string) (*container.ExecInspectResponse, error) {
	x, err := s.execByID(id)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var ec *int
	if x.ExitCode != nil {
		v := *x.ExitCode
		ec = &v
	}
	priv := x.Config.Privileged
	return &container.ExecInspectResponse{
		ID: x.ID, Running: x.Running, ExitCode: ec, ContainerID: x.ContainerID,
		OpenStdin: x.Config.AttachStdin, OpenStdout: x.Config.AttachStdout, OpenStderr: x.Config.AttachStderr,
		CanRemove: !x.Running && x.Started, DetachKeys: []byte(x.Config.DetachKeys), Pid: x.Pid,
		ProcessConfig: &container.ExecProcessConfig{Tty: x.Config.Tty, Entrypoint: x.Config.Cmd[0], Arguments: x.Config.Cmd[1:], Privileged: &priv, User: x.Config.User},
	}, nil
}

// ExecInfo tells the API whether an exec uses a TTY (for framing).
func (s *Service) ExecInfo(id string) (tty bool, err error) {
	x, err := s.execByID(id)
	if err != nil {
		return false, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.Started {
		return false, errdefs.Conflict("Error: Exec command %s has already run", id)
	}
	return x.Config.Tty, nil
}

// ExecStart runs the exec. With client == nil it runs detached and returns
// at once; otherwise it streams until the process ends.
func (s *Service) ExecStart(ctx context.Context, id string, tty bool, consoleSize *[2]uint, client Stream) error {
	x, err := s.execByID(id)
	if err != nil {
		return err
	}
	e, err := s.lookup(x.ContainerID)
	if err != nil {
		return err
	}
	x.mu.Lock()
	if x.Started {
		x.mu.Unlock()
		return errdefs.Conflict("Error: Exec command %s has already run", id)
	}
	x.Started = true
	x.mu.Unlock()

	e.mu.Lock()
	running := e.c.State.Status == StatusRunning
	c := e.c
	e.mu.Unlock()
	if !running {
		return errdefs.Conflict("Container %s is not running", c.ID)
	}
	rt, err := s.runtimeOf(&c)
	if err != nil {
		return err
	}
	proc, err := s.execProcess(&c, x, tty)
	if err != nil {
		return err
	}
	// A short directory: the console socket's path must fit in 108 bytes,
	// which a path under the container's state directory may not.
	dir, err := os.MkdirTemp("", "berth-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	procJSON, _ := json.Marshal(proc)
	procPath := filepath.Join(dir, "process.json")
	if err := os.WriteFile(procPath, procJSON, 0o600); err != nil {
		return err
	}
	pidFile := filepath.Join(dir, "pid")
	args := append(rt.GlobalArgs(), "exec", "--detach", "--pid-file", pidFile, "--process", procPath)
	var consoleL *net.UnixListener
	if tty {
		sock := filepath.Join(dir, "c.sock")
		consoleL, err = net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			return err
		}
		defer consoleL.Close()
		if !s.runtimes.IsSandbox(c.Runtime) { // runsc takes the terminal from process.json
			args = append(args, "--tty")
		}
		args = append(args, "--console-socket", sock)
	}
	args = append(args, c.ID)
	// The shim (berth-monitor exec-shim) runs the runtime, reaps the exec'd
	// process and whatever the runtime leaves behind, and exits with the
	// process's status; berthd stays out of the container's process tree.
	cmd := exec.Command(s.cfg.MonitorPath, append([]string{"exec-shim", pidFile, "--", rt.Path}, args...)...)
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer syncR.Close()
	cmd.ExtraFiles = []*os.File{syncW}
	var stderrBuf strings.Builder
	var outR, errR, inW *os.File
	closeAfterStart := []*os.File{syncW}
	if tty {
		cmd.Stderr = &stderrBuf
	} else {
		devnull, _ := os.Open(os.DevNull)
		defer devnull.Close()
		cmd.Stdin = devnull
		if client != nil && x.Config.AttachStdin {
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			cmd.Stdin, inW = r, w
			closeAfterStart = append(closeAfterStart, r)
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.Stdout, outR = w, r
		r2, w2, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd.Stderr, errR = w2, r2
		closeAfterStart = append(closeAfterStart, w, w2)
	}
	var ptyCh chan error
	if tty {
		ptyCh = make(chan error, 1)
		go func() {
			f, err := monitor.RecvConsole(consoleL)
			if err == nil {
				x.mu.Lock()
				x.pty = f
				x.mu.Unlock()
			}
			ptyCh <- err
		}()
	}
	if err := cmd.Start(); err != nil {
		s.closeAll(append(closeAfterStart, outR, errR, inW)...)
		x.finish(126)
		return fmt.Errorf("exec: start shim: %w", err)
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	exited := make(chan int, 1)
	go func() {
		cmd.Wait()
		code := 255
		if cmd.ProcessState != nil {
			code = cmd.ProcessState.ExitCode()
		}
		exited <- code
	}()
	line, _ := bufio.NewReader(syncR).ReadString('\n')
	pidStr, ok := strings.CutPrefix(strings.TrimSpace(line), "ok ")
	if !ok {
		// The runtime refused: its words are on stderr (the process never
		// ran, so nothing else can be there).
		<-exited
		msg := strings.TrimSpace(stderrBuf.String())
		if !tty && errR != nil {
			b, _ := io.ReadAll(io.LimitReader(errR, 64<<10))
			msg = strings.TrimSpace(string(b))
		}
		s.closeAll(outR, errR, inW)
		if msg == "" {
			msg = "the runtime could not start the process"
		}
		err := errdefs.Invalid("OCI runtime exec failed: exec failed: unable to start container process: %s", execDetail(msg, x.Config.Cmd[0]))
		x.finish(exitCodeOf(err))
		return err
	}
	pid, _ := strconv.Atoi(pidStr)
	s.emit(&c, evtypes.Action(string(evtypes.ActionExecStart)+": "+strings.Join(x.Config.Cmd, " ")), map[string]string{"execID": x.ID})
	go func() {
		<-x.done
		x.mu.Lock()
		code := *x.ExitCode
		x.mu.Unlock()
		s.emit(&c, evtypes.ActionExecDie, map[string]string{"execID": x.ID, "exitCode": strconv.Itoa(code)})
	}()
	var ptmx *os.File
	if tty {
		if err := <-ptyCh; err != nil {
			unix.Kill(pid, unix.SIGKILL)
			<-exited
			x.finish(126)
			return fmt.Errorf("exec: receive console: %w", err)
		}
		x.mu.Lock()
		ptmx = x.pty
		size := x.pendingSize
		x.mu.Unlock()
		switch {
		case size != nil:
			monitor.SetWinsize(ptmx, size[0], size[1])
		case consoleSize != nil && consoleSize[0] > 0:
			monitor.SetWinsize(ptmx, uint16(consoleSize[0]), uint16(consoleSize[1]))
		case x.Config.ConsoleSize != nil && x.Config.ConsoleSize[0] > 0:
			monitor.SetWinsize(ptmx, uint16(x.Config.ConsoleSize[0]), uint16(x.Config.ConsoleSize[1]))
		}
	}
	x.mu.Lock()
	x.Running, x.Pid = true, pid
	x.mu.Unlock()

	// The rest runs until the process ends: in the background for a
	// detached exec (`exec -d` returns once the process runs).
	run := func() {
		var outDone sync.WaitGroup
		if tty {
			outDone.Add(1)
			go func() {
				defer outDone.Done()
				var dst io.Writer = io.Discard // nobody reads: keep the process from blocking
				if client != nil {
					dst = client
				}
				copyPty(dst, ptmx)
			}()
			if client != nil && x.Config.AttachStdin {
				keys, _ := ParseDetachKeys(x.Config.DetachKeys)
				go copyStdin(ptmx, client, keys)
			}
		} else {
			var wmu sync.Mutex
			pump := func(r *os.File, stream byte, want bool) {
				defer outDone.Done()
				buf := make([]byte, 32*1024)
				for {
					n, err := r.Read(buf)
					if n > 0 && client != nil && want {
						wmu.Lock()
						stdcopy.WriteFrame(client, stream, buf[:n])
						wmu.Unlock()
					}
					if err != nil {
						r.Close()
						return
					}
				}
			}
			outDone.Add(2)
			go pump(outR, stdcopy.Stdout, x.Config.AttachStdout)
			go pump(errR, stdcopy.Stderr, x.Config.AttachStderr)
			if inW != nil {
				go func() {
					io.Copy(inW, client)
					inW.Close()
				}()
			}
		}
		code := <-exited
		if tty {
			// Once the process is gone the master reads EIO, unless a
			// background process holds the slave: interrupt the copier
			// (without losing what the pty holds, see copyPty) rather
			// than wait for that process. Closing the master here instead
			// lost a quick process's whole output (issue 19).
			ptmx.SetReadDeadline(time.Unix(1, 0))
		}
		outDone.Wait()
		if tty {
			ptmx.Close()
		}
		x.finish(code)
		if client != nil {
			client.CloseWrite()
		}
	}
	if client == nil {
		go run()
		return nil
	}
	run()
	return nil
}

// copyPty copies an exec's pty master to dst until the master ends (EIO
// once every slave is closed), or until the read deadline set when the
// process exited interrupts the wait; then it drains what the pty still
// holds, so output written just before the exit is never lost. A client
// that stops reading does not block the process: its output is discarded.
func copyPty(dst io.Writer, ptmx *os.File) {
	buf := make([]byte, 32*1024)
	write := func(p []byte) {
		if _, err := dst.Write(p); err != nil {
			dst = io.Discard
		}
	}
	for {
		n, err := ptmx.Read(buf)
		if n > 0 {
			write(buf[:n])
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				monitor.DrainAvailable(ptmx, buf, write)
			}
			return
		}
	}
}

func (s *Service) closeAll(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

func (x *execEntry) finish(code int) {
	x.mu.Lock()
	x.Running = false
	x.ExitCode = &code
	x.pty = nil
	x.mu.Unlock()
	select {
	case <-x.done:
	default:
		close(x.done)
	}
}

// ExecResize resizes an exec's TTY.
func (s *Service) ExecResize(ctx context.Context, id string, height, width uint16) error {
	x, err := s.execByID(id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	pty := x.pty
	if pty == nil {
		if x.Started && x.ExitCode == nil {
			// The client resizes right after starting; the TTY may not
			// exist yet: apply the size when it does.
			x.pendingSize = &[2]uint16{height, width}
			x.mu.Unlock()
			return nil
		}
		x.mu.Unlock()
		return errdefs.Conflict("exec %s has no running TTY", id)
	}
	x.mu.Unlock()
	return monitor.SetWinsize(pty, height, width)
}

// execProcess builds the OCI process of an exec from the container's own
// spec, so it gets the same capabilities, env and user unless overridden.
func (s *Service) execProcess(c *Container, x *execEntry, tty bool) (*specs.Process, error) {
	data, err := os.ReadFile(filepath.Join(s.stateDir(c.ID), "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read container spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, err
	}
	p := spec.Process
	p.Args = x.Config.Cmd
	p.Terminal = tty
	p.ConsoleSize = nil
	p.Env = mergeEnv(p.Env, x.Config.Env)
	if tty {
		p.Env = mergeEnv(p.Env, []string{"TERM=xterm"})
	}
	if x.Config.WorkingDir != "" {
		p.Cwd = x.Config.WorkingDir
	}
	if x.Config.User != "" {
		u, err := resolveUser(spec.Root.Path, x.Config.User, nil)
		if err != nil {
			return nil, err
		}
		p.User = u
	}
	if x.Config.Privileged {
		// Every capability this host lets berthd hand out, as for run
		// --privileged: asking for more fails with capset EPERM.
		caps, err := runtime.Capabilities(&container.HostConfig{Privileged: true})
		if err != nil {
			return nil, err
		}
		p.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	}
	// p.Rlimits stay the container's (--ulimit), as with Docker: without
	// them the exec would get berthd's own limits.
	return p, nil
}
