package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The monitor runs in two images of the same pid. The first creates the
// container (exec of the runtime, JSON, pipes: work that leaves threads,
// grown stacks and half-used heap spans behind); it then execs itself with
// the "serve" argument, handing over its descriptors, so that the process
// that idles for the container's life starts from a fresh, small Go
// runtime. The pid, the child-subreaper flag, ignored signals and the
// container's init (a child) all survive execve.

// stateEnv carries serveState to the serve image.
const stateEnv = "BERTH_MONITOR_STATE"

// serveState is what the serve image needs besides monitor.json. Fds are
// descriptor numbers inherited across execve; -1 means none.
type serveState struct {
	InitPid int    `json:"initPid"`
	OOMFile string `json:"oomFile"`
	OOMBase int64  `json:"oomBase"`
	AttachL int    `json:"attachL"`
	CtlL    int    `json:"ctlL"`
	Stdout  int    `json:"stdout"`
	Stderr  int    `json:"stderr"`
	Stdin   int    `json:"stdin"`
	Pty     int    `json:"pty"`
	// Attach are the handed-over attach connections not yet adopted.
	Attach  []int `json:"attach,omitempty"`
	Started bool  `json:"started,omitempty"`
	Lock    int   `json:"lock"`
}

// execServe replaces the process image; it returns only on failure, with
// m intact, so the caller can go on serving in this image.
func (m *mon) execServe() error {
	st := serveState{InitPid: m.initPid, OOMFile: m.oomFile, OOMBase: m.oomBase,
		AttachL: -1, CtlL: -1, Stdout: -1, Stderr: -1, Stdin: -1, Pty: -1, Started: m.started}
	var err error
	inherit := func(sc syscall.Conn) int {
		if err != nil {
			return -1
		}
		rc, e := sc.SyscallConn()
		if e != nil {
			err = e
			return -1
		}
		fd := -1
		rc.Control(func(u uintptr) {
			fd = int(u)
			// Keep the descriptor across execve (Go opens all with
			// close-on-exec).
			if _, e := unix.FcntlInt(u, unix.F_SETFD, 0); e != nil {
				err = e
			}
		})
		return fd
	}
	st.AttachL = inherit(m.attachL)
	st.CtlL = inherit(m.ctlL)
	if m.pty != nil {
		st.Pty = inherit(m.pty)
	} else {
		st.Stdout = inherit(m.outs[1])
		st.Stderr = inherit(m.outs[2])
		if m.stdinW != nil {
			st.Stdin = inherit(m.stdinW)
		}
	}
	for _, f := range m.handoff {
		st.Attach = append(st.Attach, inherit(f))
	}
	st.Lock = inherit(m.lock)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	env := append(cleanEnv(), stateEnv+"="+string(b), "GOMAXPROCS=1")
	if m.log != nil {
		m.log.Close() // the serve image reopens it for appending
		m.log = nil
	}
	err = syscall.Exec("/proc/self/exe", []string{os.Args[0], m.cfg.StateDir, "serve"}, env)
	// Still here: serve from this image.
	var lerr error
	if m.log, lerr = openLog(m.cfg); lerr != nil {
		return lerr
	}
	return err
}

// cleanEnv is the environment without the monitor's own settings, as the
// runtime should see it.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, stateEnv+"=") || strings.HasPrefix(e, "GOMAXPROCS=") {
			continue
		}
		env = append(env, e)
	}
	return env
}

// restore rebuilds the monitor's state in the serve image.
func restore(m *mon, raw string) error {
	var st serveState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return err
	}
	m.initPid, m.oomFile, m.oomBase, m.started = st.InitPid, st.OOMFile, st.OOMBase, st.Started
	for _, fd := range st.Attach {
		unix.CloseOnExec(fd)
		m.handoff = append(m.handoff, os.NewFile(uintptr(fd), "attach"))
	}
	var err error
	listener := func(fd int) *net.UnixListener {
		if err != nil {
			return nil
		}
		f := os.NewFile(uintptr(fd), "listener")
		l, e := net.FileListener(f) // dups; f is closed below
		f.Close()
		if e != nil {
			err = e
			return nil
		}
		ul, ok := l.(*net.UnixListener)
		if !ok {
			err = errors.New("inherited listener is not a unix socket")
		}
		return ul
	}
	file := func(fd int, name string) *os.File {
		if fd < 0 {
			return nil
		}
		unix.CloseOnExec(fd)
		// Non-blocking, so the file joins Go's poller (deadlines, no
		// thread blocked per stream).
		if e := unix.SetNonblock(fd, true); e != nil && err == nil {
			err = e
		}
		return os.NewFile(uintptr(fd), name)
	}
	unix.CloseOnExec(st.Lock)
	m.lock = os.NewFile(uintptr(st.Lock), "lock")
	m.attachL = listener(st.AttachL)
	m.ctlL = listener(st.CtlL)
	if st.Pty >= 0 {
		m.pty = file(st.Pty, "ptmx")
		m.outs[1] = m.pty
		if m.cfg.OpenStdin {
			m.stdinW = m.pty
		}
	} else {
		m.outs[1] = file(st.Stdout, "stdout")
		m.outs[2] = file(st.Stderr, "stderr")
		m.stdinW = file(st.Stdin, "stdin")
	}
	if err != nil {
		return err
	}
	m.log, err = openLog(m.cfg)
	return err
}
