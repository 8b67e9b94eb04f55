package main

import (
	"bufio"
	"bytes"
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

	"github.com/berth-dev/berth/internal/logdriver"
	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
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

// create runs `runtime create`. The runtime's stdio is the container's:
// pipes the monitor holds (or, with a TTY, a console socket through which
// the runtime hands over the pty master). The runtime's own messages go to
// a --log file in JSON, which is where its error text is read from.
func (m *mon) create() (err error) {
	cfg := m.cfg
	if m.log, err = openLog(cfg); err != nil {
		return err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()

	var childIn, childOut, childErr *os.File
	var errR *os.File // the runtime's stderr, read for error text on failure
	var consoleL *net.UnixListener
	var console chan recvResult
	var toClose []*os.File
	defer func() {
		for _, f := range toClose {
			f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			toClose = append(toClose, r, w) // closed on return unless kept
		}
		return
	}
	keep := func(f *os.File) *os.File {
		for i, g := range toClose {
			if g == f {
				toClose = append(toClose[:i], toClose[i+1:]...)
			}
		}
		return f
	}

	if cfg.Tty {
		r, w, err := pipe()
		if err != nil {
			return err
		}
		childIn, childOut, childErr, errR = devnull, w, w, r
		os.Remove(monitor.ConsoleSocket)
		if consoleL, err = net.ListenUnix("unix", &net.UnixAddr{Name: monitor.ConsoleSocket, Net: "unix"}); err != nil {
			return err
		}
		defer func() { consoleL.Close(); os.Remove(monitor.ConsoleSocket) }()
		console = make(chan recvResult, 1)
		go func() { console <- recvConsole(consoleL) }()
	} else {
		childIn = devnull
		if cfg.OpenStdin {
			r, w, err := pipe()
			if err != nil {
				return err
			}
			childIn, m.stdinW = r, w
		}
		or, ow, err := pipe()
		if err != nil {
			return err
		}
		er, ew, err := pipe()
		if err != nil {
			return err
		}
		childOut, childErr, errR = ow, ew, er
		m.outs[monitor.StreamStdout], m.outs[monitor.StreamStderr] = or, er
	}

	stateDir := cfg.StateDir
	runtimeLog := filepath.Join(stateDir, monitor.RuntimeLog)
	args := append([]string{}, cfg.RuntimeArgs...)
	args = append(args, "--log", runtimeLog, "--log-format", "json",
		"create", "--bundle", cfg.Bundle, "--pid-file", filepath.Join(stateDir, monitor.InitPidFile))
	if cfg.Tty {
		sock := filepath.Join(stateDir, monitor.ConsoleSocket)
		if len(sock) >= 108 {
			sock = monitor.ConsoleSocket // the runtime runs in our cwd, the state dir
		}
		args = append(args, "--console-socket", sock)
	}
	args = append(args, cfg.ID)
	cmd := exec.Command(cfg.Runtime, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = childIn, childOut, childErr
	runErr := cmd.Run()
	// The container holds its ends now; the monitor must not, or it would
	// never see EOF.
	for _, f := range []*os.File{childIn, childOut, childErr} {
		if f != devnull {
			f.Close()
		}
	}

	if runErr != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			code = ee.ExitCode()
		}
		msg := runtimeErrorText(runtimeLog, errR)
		if msg == "" {
			msg = fmt.Sprintf("%s create failed: %v", filepath.Base(cfg.Runtime), runErr)
		}
		m.deleteContainer()
		os.Remove(filepath.Join(stateDir, monitor.InitPidFile))
		if m.log != nil {
			m.log.Close()
		}
		return &monitor.RuntimeError{Op: "create", Msg: msg, ExitCode: code}
	}
	os.Remove(runtimeLog)

	fail := func(err error) error {
		m.deleteContainer()
		return err
	}
	if cfg.Tty {
		select {
		case r := <-console:
			if r.err != nil {
				return fail(fmt.Errorf("receive the container's terminal from the runtime: %w", r.err))
			}
			m.pty = r.f
			m.outs[monitor.StreamStdout] = r.f
			if cfg.OpenStdin {
				m.stdinW = r.f
			}
		case <-time.After(10 * time.Second):
			return fail(errors.New("the runtime did not send the container's terminal"))
		}
	} else {
		keep(m.outs[monitor.StreamStdout])
		keep(m.outs[monitor.StreamStderr])
		if m.stdinW != nil {
			keep(m.stdinW)
		}
	}

	b, err := os.ReadFile(filepath.Join(stateDir, monitor.InitPidFile))
	if err != nil {
		return fail(fmt.Errorf("read the container's init pid: %w", err))
	}
	if m.initPid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || m.initPid <= 0 {
		return fail(fmt.Errorf("bad init pid file %q", b))
	}
	m.oomFile = oomCounterFile(m.initPid)
	m.oomBase = readOOMKills(m.oomFile)
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

// deleteContainer removes the runtime's state and anything left of the
// container (delete --force kills it first).
func (m *mon) deleteContainer() {
	args := append(append([]string{}, m.cfg.RuntimeArgs...), "delete", "--force", m.cfg.ID)
	cmd := exec.Command(m.cfg.Runtime, args...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "berth-monitor: %s delete: %v\n", m.cfg.Runtime, err)
	}
}

type recvResult struct {
	f   *os.File
	err error
}

// recvConsole accepts the runtime's connection on the console socket and
// receives the pty master it sends with SCM_RIGHTS.
func recvConsole(l *net.UnixListener) recvResult {
	c, err := l.AcceptUnix()
	if err != nil {
		return recvResult{err: err}
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return recvResult{err: err}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return recvResult{err: err}
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) == 0 {
		return recvResult{err: errors.New("no file descriptor in the console socket message")}
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	fd := fds[0]
	unix.CloseOnExec(fd)
	// Non-blocking, so the file joins Go's poller and reads can be given
	// deadlines.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return recvResult{err: err}
	}
	return recvResult{f: os.NewFile(uintptr(fd), "ptmx")}
}
