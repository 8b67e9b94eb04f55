package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/berth-dev/berth/internal/logdriver"
	"github.com/berth-dev/berth/internal/monitor"
)

// mon is the state of one monitor process.
type mon struct {
	cfg monitor.Config

	attachL, ctlL *net.UnixListener
	ctlDone       chan struct{} // closed when serveCtl stopped accepting
	ctlWG         sync.WaitGroup

	log     logdriver.Writer // nil: no log
	initPid int
	oomFile string // the cgroup file counting OOM kills, "" if unknown
	oomBase int64

	// The container's stdio as the monitor holds it.
	pty    *os.File    // TTY master (Tty)
	outs   [3]*os.File // read ends by stream: [1] stdout (or the pty), [2] stderr
	pumps  sync.WaitGroup
	stdinW *os.File // where stdin bytes go: pipe write end or the pty; nil: none

	stdinMu     sync.Mutex
	stdinClosed bool

	mu      sync.Mutex // guards clients, closing
	clients map[*client]struct{}
	closing bool

	exited chan struct{} // closed once status is final and exit.json written
	status monitor.ExitStatus

	// execMu is held while the runtime's start runs: reap must not take
	// its exit status, and the container must not be deleted under it.
	execMu  sync.Mutex
	started bool // the runtime's start was run (guarded by execMu)

	// handoff are the attach connections berthd handed over at launch
	// (fds from monitor.FirstAttachFd, options in cfg.Attach), until
	// adoptHandoff registers them.
	handoff []*os.File

	// lock is the state directory's monitor.LockFile, held until the
	// runtime's state of this run is deleted (after the exit is reported).
	lock *os.File
}

func newMon(cfg monitor.Config) *mon {
	return &mon{cfg: cfg, clients: map[*client]struct{}{}, exited: make(chan struct{}), ctlDone: make(chan struct{})}
}

func (m *mon) listen() error {
	var err error
	for _, name := range []string{monitor.AttachSocket, monitor.CtlSocket} {
		os.Remove(name)
	}
	if m.attachL, err = net.ListenUnix("unix", &net.UnixAddr{Name: monitor.AttachSocket, Net: "unix"}); err != nil {
		return err
	}
	if m.ctlL, err = net.ListenUnix("unix", &net.UnixAddr{Name: monitor.CtlSocket, Net: "unix"}); err != nil {
		m.attachL.Close()
		return err
	}
	return nil
}

func (m *mon) removeSockets() {
	if m.attachL != nil {
		m.attachL.Close()
	}
	if m.ctlL != nil {
		m.ctlL.Close()
	}
	for _, name := range []string{monitor.AttachSocket, monitor.CtlSocket, monitor.ConsoleSocket} {
		os.Remove(name)
	}
}

// runtime is the container's runtime as the monitor runs it: berthd's
// global flags (with --root) and the monitor's environment.
func (m *mon) runtime() *oci.CLI {
	return &oci.CLI{Path: m.cfg.Runtime, Args: m.cfg.RuntimeArgs, Env: cleanEnv()}
}

// create runs the runtime's Create verb. The runtime's stdio is the
// container's: pipes the monitor holds (or, with a TTY, a console socket
// through which the runtime hands over the pty master). The runtime's own
// messages go to a --log file in JSON, which is where its error text is
// read from.
func (m *mon) create() (err error) {
	cfg := m.cfg
	if m.log, err = openLog(cfg); err != nil {
		return err
	}
	cio, err := newCreateIO(cfg)
	if err != nil {
		return err
	}
	defer cio.close()
	if err := m.runCreate(cio); err != nil {
		return err
	}
	if err := m.adoptStdio(cio); err != nil {
		m.deleteContainer()
		return err
	}
	if err := m.readInitPid(); err != nil {
		m.deleteContainer()
		return err
	}
	m.oomFile = oomCounterFile(m.initPid)
	if !m.started {
		// Started by the create (run --detach), the container may have
		// been killed already: its cgroup, made by this run, counts from 0.
		m.oomBase = readOOMKills(m.oomFile)
	}
	return nil
}

// createIO is the container's stdio while the runtime creates it: the
// child's ends, the runtime's stderr (read for error text on failure), and
// the monitor's ends it keeps once the container exists.
type createIO struct {
	tty                         bool
	devnull                     *os.File
	childIn, childOut, childErr *os.File
	errR                        *os.File
	outR, stdinW                *os.File // no TTY: kept by the monitor
	consoleL                    *net.UnixListener
	console                     chan recvResult
	toClose                     []*os.File // closed by close unless kept
}

func newCreateIO(cfg monitor.Config) (cio *createIO, err error) {
	cio = &createIO{tty: cfg.Tty}
	defer func() {
		if err != nil {
			cio.close()
		}
	}()
	if cio.devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		return nil, err
	}
	cio.toClose = append(cio.toClose, cio.devnull)
	if cfg.Tty {
		r, w, err := cio.pipe()
		if err != nil {
			return nil, err
		}
		cio.childIn, cio.childOut, cio.childErr, cio.errR = cio.devnull, w, w, r
		return cio, cio.listenConsole()
	}
	cio.childIn = cio.devnull
	if cfg.OpenStdin {
		r, w, err := cio.pipe()
		if err != nil {
			return nil, err
		}
		cio.childIn, cio.stdinW = r, w
	}
	or, ow, err := cio.pipe()
	if err != nil {
		return nil, err
	}
	er, ew, err := cio.pipe()
	if err != nil {
		return nil, err
	}
	cio.childOut, cio.childErr, cio.errR, cio.outR = ow, ew, er, or
	return cio, nil
}

func (cio *createIO) pipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err == nil {
		cio.toClose = append(cio.toClose, r, w)
	}
	return
}

// listenConsole opens the console socket in the state directory (the
// monitor's cwd) and receives the pty master on it in the background.
func (cio *createIO) listenConsole() error {
	os.Remove(monitor.ConsoleSocket)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: monitor.ConsoleSocket, Net: "unix"})
	if err != nil {
		return err
	}
	cio.consoleL = l
	cio.console = make(chan recvResult, 1)
	go func() {
		f, err := monitor.RecvConsole(l)
		cio.console <- recvResult{f, err}
	}()
	return nil
}

// childStarted closes the monitor's copies of the child's ends: the
// container holds them now, and the monitor must not or it would never see
// EOF.
func (cio *createIO) childStarted() {
	for _, f := range []*os.File{cio.childIn, cio.childOut, cio.childErr} {
		if f != cio.devnull {
			f.Close()
		}
	}
}

// keep takes f off the list of files close closes.
func (cio *createIO) keep(f *os.File) *os.File {
	for i, g := range cio.toClose {
		if g == f {
			cio.toClose = append(cio.toClose[:i], cio.toClose[i+1:]...)
			break
		}
	}
	return f
}

func (cio *createIO) close() {
	for _, f := range cio.toClose {
		f.Close()
	}
	cio.toClose = nil
	if cio.consoleL != nil {
		cio.consoleL.Close()
		os.Remove(monitor.ConsoleSocket)
	}
}

// runCreate runs the runtime's create; on failure nothing of the container
// is left and the error is a *monitor.RuntimeError in the runtime's words.
func (m *mon) runCreate(cio *createIO) error {
	cfg := m.cfg
	stateDir := cfg.StateDir
	runtimeLog := filepath.Join(stateDir, monitor.RuntimeLog)
	rt := m.runtime()
	rt.Log, rt.LogFormat = runtimeLog, "json"
	opts := &oci.CreateOpts{
		Bundle: cfg.Bundle, PidFile: filepath.Join(stateDir, monitor.InitPidFile),
		IO:    oci.IO{Stdin: cio.childIn, Stdout: cio.childOut, Stderr: cio.childErr},
		Start: cfg.Start,
	}
	if cfg.Tty {
		opts.ConsoleSocket = filepath.Join(stateDir, monitor.ConsoleSocket)
		if len(opts.ConsoleSocket) >= 108 {
			opts.ConsoleSocket = monitor.ConsoleSocket // the runtime runs in our cwd, the state dir
		}
	}
	runErr := rt.Create(context.Background(), cfg.ID, opts)
	cio.childStarted()
	if runErr == nil {
		os.Remove(runtimeLog)
		m.started = cfg.Start
		return nil
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		code = ee.ExitCode()
	}
	msg := runtimeErrorText(runtimeLog, cio.errR)
	if msg == "" {
		msg = fmt.Sprintf("%s create failed: %v", filepath.Base(cfg.Runtime), errors.Unwrap(runErr))
	}
	m.deleteContainer()
	os.Remove(filepath.Join(stateDir, monitor.InitPidFile))
	if m.log != nil {
		m.log.Close()
	}
	return &monitor.RuntimeError{Op: "create", Msg: msg, ExitCode: code}
}

// adoptStdio takes the container's stdio: the pty master the runtime sent,
// or the read ends of its pipes and the write end of its stdin.
func (m *mon) adoptStdio(cio *createIO) error {
	if !m.cfg.Tty {
		m.outs[monitor.StreamStdout] = cio.keep(cio.outR)
		m.outs[monitor.StreamStderr] = cio.keep(cio.errR)
		if cio.stdinW != nil {
			m.stdinW = cio.keep(cio.stdinW)
		}
		return nil
	}
	select {
	case r := <-cio.console:
		if r.err != nil {
			return fmt.Errorf("receive the container's terminal from the runtime: %w", r.err)
		}
		m.pty = r.f
		m.outs[monitor.StreamStdout] = r.f
		if m.cfg.OpenStdin {
			m.stdinW = r.f
		}
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the runtime did not send the container's terminal")
	}
}

// readInitPid reads the pid of the container's init from the runtime's
// pid file.
func (m *mon) readInitPid() error {
	b, err := os.ReadFile(filepath.Join(m.cfg.StateDir, monitor.InitPidFile))
	if err != nil {
		return fmt.Errorf("read the container's init pid: %w", err)
	}
	if m.initPid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || m.initPid <= 0 {
		return fmt.Errorf("bad init pid file %q", b)
	}
	return nil
}

// runtimeErrorText extracts why the runtime failed: the last error in its
// JSON --log, else what it wrote on stderr.
func runtimeErrorText(logPath string, errR *os.File) string {
	var last string
	if f, err := os.Open(logPath); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l struct{ Level, Msg string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg != "" && (l.Level == "error" || l.Level == "fatal") {
				last = l.Msg
			}
		}
		f.Close()
	}
	if last != "" {
		return strings.TrimSpace(last)
	}
	if errR == nil {
		return ""
	}
	// The runtime has exited and its init with it: EOF comes at once,
	// unless something unexpected keeps the pipe open.
	errR.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var buf bytes.Buffer
	b := make([]byte, 4096)
	for buf.Len() < 64*1024 {
		n, err := errR.Read(b)
		buf.Write(b[:n])
		if err != nil {
			break
		}
	}
	return strings.TrimSpace(buf.String())
}

var errAlreadyStarted = errors.New("container already started")

// startContainer runs the runtime's start verb, once.
func (m *mon) startContainer() error {
	m.execMu.Lock()
	defer m.execMu.Unlock()
	if m.started {
		return errAlreadyStarted
	}
	m.started = true
	if m.cfg.ExecFifo != "" {
		return monitor.ReleaseFifo(m.cfg.ExecFifo)
	}
	return m.runtime().Start(context.Background(), m.cfg.ID)
}

// deleteContainer removes the runtime's state and anything left of the
// container (delete --force kills it first).
func (m *mon) deleteContainer() {
	if err := m.runtime().Delete(context.Background(), m.cfg.ID, &oci.DeleteOpts{Force: true}); err != nil {
		fmt.Fprintf(os.Stderr, "berth-monitor: %v\n", err)
	}
}

type recvResult struct {
	f   *os.File
	err error
}
