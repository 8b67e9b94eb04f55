package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Launched is a C monitor started before its config exists (Launch): its
// exec and start-up overlap the caller's own preparation (root
// filesystem, spec), then it waits. Start hands it the config and goes on
// as the package's Start does; Abort ends it instead.
type Launched struct {
	stateDir string
	syncR    *os.File
	goW      *os.File // nil once started or aborted
	pid      int
}

// awaitFd is the fd on which a launched monitor waits for its go: after
// the sync pipe (fd 3), where attach connections would start, which a
// launched monitor takes none of.
const awaitFd = FirstAttachFd

// Launch starts the C monitor beside goMonitor for stateDir ahead of its
// config. It returns nil, nil when the C monitor would not run the
// container (not installed, or logDriver is the Go monitor's): the
// caller then starts as usual. stateDir must exist and hold nothing of an
// earlier run. Like any monitor, a launched one is in a session of its
// own; it exits untouched should berthd die before Start (its go pipe
// then reads end of file).
func Launch(goMonitor, stateDir, logDriver string) (*Launched, error) {
	if !CImplements(Config{LogDriver: logDriver}) {
		return nil, nil
	}
	binary := CMonitor(goMonitor)
	if binary == "" {
		return nil, nil
	}
	stateDir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	syncR, pid, err := launch(binary, []string{stateDir, "--await", strconv.Itoa(awaitFd)}, stateDir, []*os.File{goR})
	goR.Close()
	if err != nil {
		goW.Close()
		return nil, err
	}
	return &Launched{stateDir: stateDir, syncR: syncR, goW: goW, pid: pid}, nil
}

// Start writes cfg (its StateDir must be the launched one, with no attach
// sessions) and lets the monitor go on: then as the package's Start.
func (l *Launched) Start(ctx context.Context, cfg Config) (initPid, monitorPid int, err error) {
	if err := l.config(&cfg); err != nil {
		l.Abort()
		return 0, 0, err
	}
	_, err = l.goW.Write([]byte{1})
	l.goW.Close()
	l.goW = nil
	defer l.syncR.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("start container monitor: %w", err)
	}
	initPid, err = awaitReady(ctx, l.syncR, l.pid, filepath.Join(l.stateDir, LogFile))
	if err != nil {
		return 0, 0, err
	}
	return initPid, l.pid, nil
}

// config checks cfg against the launch and writes it for the monitor.
func (l *Launched) config(cfg *Config) error {
	if l.goW == nil {
		return errors.New("monitor: launched monitor already started or aborted")
	}
	if dir, err := filepath.Abs(cfg.StateDir); err != nil || dir != l.stateDir || len(cfg.Attach) > 0 || !CImplements(*cfg) {
		return errors.New("monitor: config does not fit the launched monitor")
	}
	return prepareStateDir(cfg, true) // Launch's contract: nothing of an earlier run
}

// Abort ends a launched monitor that was not started, and returns once it
// has closed its end of the sync pipe (it exits right after, touching
// nothing; reapWhenDone collects it). A nil, started or aborted one is
// left as it is.
func (l *Launched) Abort() {
	if l == nil || l.goW == nil {
		return
	}
	l.goW.Close()
	l.goW = nil
	io.Copy(io.Discard, l.syncR)
	l.syncR.Close()
}
