package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Launched is a C monitor started before its config exists (Launch): its
// exec and start-up overlap the caller's own preparation (root
// filesystem, spec), then it waits. Start hands it the config and goes on
// as the package's Start does; Abort ends it instead. Release, from any
// goroutine, asks it to start the container as soon as it is created.
type Launched struct {
	stateDir string
	syncR    *os.File
	pid      int

	mu       sync.Mutex
	goW      *os.File // the go channel; nil once ready or aborted
	going    bool     // the go was sent
	pending  []byte   // a release request to send after the go
	theirs   []*os.File
	released bool // the ready report said the request was served
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
	goR, goW, err := goChannel()
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

// goChannel is a launched monitor's go channel: its end, ours.
func goChannel() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("monitor go channel: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "go-monitor"), os.NewFile(uintptr(fds[1]), "go"), nil
}

// Start writes cfg (its StateDir must be the launched one, with no attach
// sessions) and lets the monitor go on: then as the package's Start.
func (l *Launched) Start(ctx context.Context, cfg Config) (initPid, monitorPid int, err error) {
	if err := l.config(&cfg); err != nil {
		l.Abort()
		return 0, 0, err
	}
	l.mu.Lock()
	_, err = l.goW.Write([]byte{1})
	l.going = true
	if err == nil && l.pending != nil {
		l.send()
	}
	l.mu.Unlock()
	defer l.syncR.Close()
	if err != nil {
		l.closeGo()
		return 0, 0, fmt.Errorf("start container monitor: %w", err)
	}
	rep, err := awaitReady(ctx, l.syncR, l.pid, filepath.Join(l.stateDir, LogFile))
	l.closeGo()
	if err != nil {
		return 0, 0, err
	}
	l.mu.Lock()
	l.released = rep.Released
	l.mu.Unlock()
	return rep.Pid, l.pid, nil
}

// maxReleaseAttach and maxReleaseLen bound a release request as the
// monitor reads it.
const (
	maxReleaseAttach = 64
	maxReleaseLen    = 4096
)

// Release asks the monitor to register attach connections for the
// streams in req.Attach and start the container as soon as the runtime
// created it (if its init is in req.NetNS), and returns the connections,
// in order, as Attach would. Sent once the monitor has its go, it takes
// effect only if it is there as the create ends: Released tells, after
// Start. The caller closes the connections if it was not.
func (l *Launched) Release(req ReleaseRequest) ([]*net.UnixConn, error) {
	b, _ := json.Marshal(req)
	if len(req.Attach) > maxReleaseAttach || len(b) >= maxReleaseLen {
		return nil, errors.New("monitor: release request too large")
	}
	ours, theirs, err := attachPairs(len(req.Attach))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.goW == nil || l.pending != nil {
		closeConns(ours)
		closeAll(theirs)
		return nil, errors.New("monitor: too late for a release request")
	}
	l.pending, l.theirs = b, theirs
	if l.going {
		l.send()
	}
	return ours, nil
}

// send sends the pending release request. Caller holds l.mu.
func (l *Launched) send() {
	fds := make([]int, len(l.theirs))
	for i, f := range l.theirs {
		fds[i] = int(f.Fd())
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	// A failure shows as a ready report without "released".
	unix.Sendmsg(int(l.goW.Fd()), l.pending, oob, nil, unix.MSG_NOSIGNAL)
	closeAll(l.theirs)
	l.theirs = nil
}

// closeGo closes the go channel (a request not sent is dropped).
func (l *Launched) closeGo() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.goW != nil {
		l.goW.Close()
		l.goW = nil
	}
	closeAll(l.theirs)
	l.theirs = nil
}

// goneOn reports whether the monitor was given its go or aborted.
func (l *Launched) goneOn() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.going || l.goW == nil
}

// Released reports whether the release request was served: the container
// runs. Meaningful once Start returned.
func (l *Launched) Released() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}

// config checks cfg against the launch and writes it for the monitor.
func (l *Launched) config(cfg *Config) error {
	if l.goneOn() {
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
	if l == nil {
		return
	}
	if l.goneOn() {
		return
	}
	l.closeGo()
	io.Copy(io.Discard, l.syncR)
	l.syncR.Close()
}
