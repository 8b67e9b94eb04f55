package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"
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
	finished    time.Time // when ExitCode was set
}

// Finished execs stay inspectable (a CLI reads the exit code after the
// output ends, and with many execs at once that may be a while later)
// for execKeep, as Docker's exec GC keeps them for up to 5 minutes; past
// execKeepMost entries, finished ones go regardless of age.
const (
	execKeep     = 5 * time.Minute
	execKeepMost = 1024
)

// pruneExecs deletes the finished execs of a container that no client
// needs any more: once there are more than a few dozen, those finished
// for execKeep; past execKeepMost, every finished one.
func pruneExecs(execs map[string]*execEntry, now time.Time) {
	if len(execs) <= 32 {
		return
	}
	all := len(execs) > execKeepMost
	for id, old := range execs {
		old.mu.Lock()
		done := old.Started && !old.Running && old.ExitCode != nil
		age := now.Sub(old.finished)
		old.mu.Unlock()
		if done && (all || age >= execKeep) {
			delete(execs, id)
			execIndex.Delete(id)
		}
	}
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
	pruneExecs(e.execs, time.Now())
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

func (x *execEntry) finish(code int) {
	x.mu.Lock()
	x.Running = false
	x.ExitCode = &code
	x.finished = time.Now()
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
