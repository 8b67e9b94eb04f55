// Command berth-monitor is the per-container monitor: started by berthd
// (internal/monitor.Start) as `berth-monitor STATEDIR`, it creates and starts the
// container with the OCI runtime, becomes its init's parent (child
// subreaper), holds its stdio or TTY, writes its log (json-file, local, syslog or journald), serves
// attach and control sockets, records the exit status, and exits once the
// container has exited and been deleted. It never talks to berthd on its
// own, so berthd can die and come back while the container runs.
//
// It links only the standard library, golang.org/x/sys and Berth's
// internal/monitor and internal/jsonlog: one runs per container, so its
// memory is the engine's per-container cost.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"unsafe"

	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
)

func main() {
	// Small heap goals: the monitor handles little data at a time, and idle
	// memory per container is what matters.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(25)
	debug.SetMemoryLimit(16 << 20)

	var code int
	var err error
	switch {
	case len(os.Args) == 2 && os.Args[1] == "pod-init":
		os.Exit(podInit())
	case len(os.Args) == 2:
		code, err = run(os.Args[1], os.NewFile(3, "sync"))
	case len(os.Args) == 3 && os.Args[2] == "serve":
		code, err = serve(os.Args[1])
	case len(os.Args) > 1 && os.Args[1] == "exec-shim":
		os.Exit(execShim(os.Args[2:]))
	default:
		fmt.Fprintln(os.Stderr, "usage: berth-monitor STATEDIR (started by berthd)")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor:", err)
	}
	os.Exit(code)
}

func readConfig(stateDir string) (monitor.Config, error) {
	var cfg monitor.Config
	b, err := os.ReadFile(filepath.Join(stateDir, monitor.ConfigFile))
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("parse %s: %w", monitor.ConfigFile, err)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = stateDir
	}
	return cfg, nil
}

// sendReady writes the one sync-pipe message and closes the pipe. Without a
// sync pipe (run by hand) it does nothing.
func sendReady(sync *os.File, r monitor.Ready) {
	if sync == nil {
		return
	}
	b, _ := json.Marshal(r)
	sync.Write(append(b, '\n'))
	sync.Close()
}

// failedReady is the sync-pipe report of err.
func failedReady(err error) monitor.Ready {
	r := monitor.Ready{Error: err.Error()}
	if re, ok := err.(*monitor.RuntimeError); ok {
		r.RuntimeExitCode, r.RuntimeOp = &re.ExitCode, re.Op
	}
	return r
}

func run(stateDir string, sync *os.File) (int, error) {
	cfg, err := readConfig(stateDir)
	if err != nil {
		sendReady(sync, monitor.Ready{Error: err.Error()})
		return 1, err
	}
	// Before any child: the runtime and the container must not inherit them.
	handoff := takeHandoff(len(cfg.Attach))
	// The container's init is forked by the runtime, which then exits: as a
	// child subreaper the monitor inherits it and can wait4 on it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		sendReady(sync, monitor.Ready{Error: "set child subreaper: " + err.Error()})
		return 1, err
	}
	// Survive berthd's death (SIGHUP when a terminal goes, SIGPIPE on a
	// closed stdout); broken client connections surface as write errors.
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
	// Listen for SIGCHLD before any child exists, so none is missed.
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	// Socket names are relative to the state directory, so its path length
	// does not matter for binding.
	if err := os.Chdir(cfg.StateDir); err != nil {
		sendReady(sync, monitor.Ready{Error: err.Error()})
		return 1, err
	}

	m := newMon(cfg)
	m.handoff = handoff
	if m.lock, err = monitor.TakeLock("."); err != nil {
		sendReady(sync, monitor.Ready{Error: err.Error()})
		return 1, err
	}
	if err := m.listen(); err != nil {
		sendReady(sync, monitor.Ready{Error: err.Error()})
		return 1, err
	}
	if err := m.create(); err != nil {
		m.removeSockets()
		sendReady(sync, failedReady(err))
		return 1, err
	}
	// With cfg.Start the create started the container too (run --detach).
	sendReady(sync, monitor.Ready{Pid: m.initPid})
	if m.exitedWithin(sigchld, shortLived) {
		// Over at once (run --rm of a short command): finish from this
		// image; the re-exec's Go start-up would cost more than it saves.
		return m.serveLoop(sigchld), nil
	}
	if err := m.execServe(); err != nil {
		fmt.Fprintln(os.Stderr, "berth-monitor: re-exec failed, serving from the first image:", err)
	}
	return m.serveLoop(sigchld), nil
}

// serve is the second image (see serve.go): same pid, fresh runtime.
func serve(stateDir string) (int, error) {
	// execve of /proc/self/exe named the process "exe"; ps and pgrep
	// should still show a monitor.
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&[]byte("berth-monitor\x00")[0])), 0, 0, 0)
	cfg, err := readConfig(stateDir)
	if err != nil {
		return 1, err
	}
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP)
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	if err := os.Chdir(cfg.StateDir); err != nil {
		return 1, err
	}
	m := newMon(cfg)
	if err := restore(m, os.Getenv(stateEnv)); err != nil {
		// The container runs but cannot be served: stop it rather than
		// leave it unobserved.
		m.deleteContainer()
		return 1, err
	}
	os.Unsetenv(stateEnv)
	return m.serveLoop(sigchld), nil
}

// serveLoop serves the container until its init exits, then finishes.
func (m *mon) serveLoop(sigchld <-chan os.Signal) int {
	// Clients handed over at launch first: they must see all output.
	m.adoptHandoff()
	m.startIO()
	go m.serveAttach()
	go m.serveCtl()
	// From here on the monitor idles for the container's whole life.
	debug.FreeOSMemory()
	m.waitInit(sigchld)
	m.finish()
	return 0
}
