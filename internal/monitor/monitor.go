// Package monitor is berthd's side of the per-container monitor
// (cmd/berth-monitor): a small process, one per container, that is the parent
// of the container's init, holds its stdio or TTY, writes its log,
// records its exit status and serves attach. It does not depend on berthd:
// berthd may die and reconnect later by the state directory's path.
//
// This package holds the protocol both sides share and the client calls. It
// must stay light (stdlib and golang.org/x/sys only) because the monitor
// binary links it too.
//
// Wire protocol (all JSON lines end in "\n"):
//   - fd 3 of the monitor (sync pipe): one line, {"pid":N} once the runtime's
//     create succeeded (and, with Config.Start, its start too), or
//     {"error":"..."}.
//   - the go channel of a monitor launched ahead (Launch; its fd is given
//     on the command line): a SOCK_SEQPACKET socket; one byte lets the
//     monitor read its config and create; then at most one ReleaseRequest
//     message (JSON, no newline) carrying one attach connection per
//     Attach entry (SCM_RIGHTS). The monitor reads it, without waiting,
//     as the runtime's create succeeded: it registers the connections and
//     starts the container at once, and its ready line says
//     "released":true; a request that comes later is never read.
//   - fds 4, 5, ... of the monitor: attach connections handed over at launch,
//     one per Config.Attach entry, already registered when the container's
//     process starts (no request line, no ack); then as on attach.sock.
//   - ctl.sock: one request line {"op":"ping"|"resize"|"closeStdin"|"wait"|"start",
//     "height":H,"width":W}, one reply line: {"pid":N}, {}, the ExitStatus,
//     or {"error":"..."}. "wait" replies once the container has exited.
//   - attach.sock: the client sends {"stdin":b,"stdout":b,"stderr":b}; the
//     monitor replies {} (or {"error":"..."}) once the client is registered,
//     so no output produced after Attach returns is missed; then output
//     flows (multiplexed frames, or raw with a TTY) and client bytes go to
//     the container's stdin.
//   - monitor.lock (LockFile): locked by the monitor from before its create
//     until the runtime's delete after the exit is over. The exit is
//     reported first (exit.json flushed, waiters answered), the delete runs
//     after it; the next run's monitor and berthd's cleanup wait for the
//     lock (Hold) instead of meeting that delete.
package monitor

import (
	"errors"
	"time"
)

// Config is what berthd tells a monitor; Start stores it as
// StateDir/monitor.json, where the monitor reads it.
type Config struct {
	ID          string   `json:"id"`          // container ID (64 hex)
	Runtime     string   `json:"runtime"`     // absolute path of the OCI runtime binary (crun or runc)
	RuntimeArgs []string `json:"runtimeArgs"` // global args placed before the subcommand, e.g. ["--root","/run/berth/runtime/runc"]
	Bundle      string   `json:"bundle"`      // directory holding config.json (rootfs already mounted)
	StateDir    string   `json:"stateDir"`    // per-container exec-root dir: sockets, pid and exit files
	LogPath     string   `json:"logPath"`     // json-file log path ("" = no log)
	LogMaxSize  int64    `json:"logMaxSize"`  // bytes before rotation; 0 = unlimited
	LogMaxFiles int      `json:"logMaxFiles"` // files kept incl. current, >= 1 (rotated: path.1, path.2, ...)
	// LogDriver is json-file ("" too), local, syslog or journald; see
	// cmd/berth-monitor/logdriver.go. LogOpts are the syslog options or the
	// journald fields, resolved by berthd.
	LogDriver   string            `json:"logDriver,omitempty"`
	LogCompress bool              `json:"logCompress,omitempty"` // gzip rotated files
	LogOpts     map[string]string `json:"logOpts,omitempty"`
	Tty         bool              `json:"tty"`
	OpenStdin   bool              `json:"openStdin"`
	StdinOnce   bool              `json:"stdinOnce"`
	// Start makes the monitor start the container's process itself right
	// after the runtime created it, before it reports ready; without it
	// the process waits for StartContainer.
	Start bool `json:"start,omitempty"`
	// Attach are the streams of the attach connections StartAttached hands
	// the monitor at launch, in order.
	Attach []AttachOptions `json:"attach,omitempty"`
	// RuntimeState, when set, is the runtime's state directory of the
	// container (ROOT/ID) and Cgroups are its cgroup directories: after
	// the exit the monitor removes them itself (RemoveState) instead of
	// running the runtime's delete. berthd sets them only where that is
	// all the delete of a stopped container does (crun or runc with
	// cgroupfs, the container's own pid namespace, no hooks, no Intel
	// RDT); the runtime's delete stays the fallback for anything else.
	RuntimeState string   `json:"runtimeState,omitempty"`
	Cgroups      []string `json:"cgroups,omitempty"`
	// ExitNoSync writes exit.json without flushing it to disk first: it
	// then survives a crash of berthd or of the monitor (the page cache
	// outlives both), not one of the machine. berthd sets it for a --rm
	// container, which the next start removes after a machine crash
	// whatever its exit status says; the flush was on the path of the
	// exit to `run --rm` returning.
	ExitNoSync bool `json:"exitNoSync,omitempty"`
	// ExecFifo, when set, is the runtime's exec fifo of the container:
	// the start (StartContainer) opens it for writing, removes it and
	// writes a byte (ReleaseFifo) instead of running the runtime's start.
	// berthd sets it only where that is all the start does (crun, no
	// poststart hooks, no notify socket).
	ExecFifo string `json:"execFifo,omitempty"`
}

// ExitStatus is how the container's init ended; the monitor stores it as
// StateDir/exit.json.
type ExitStatus struct {
	ExitCode   int       `json:"exitCode"` // WEXITSTATUS, or 128+signal when killed by a signal
	FinishedAt time.Time `json:"finishedAt"`
	OOMKilled  bool      `json:"oomKilled"`
}

// AttachOptions selects the streams of an attach connection.
type AttachOptions struct {
	Stdin  bool `json:"stdin"`
	Stdout bool `json:"stdout"`
	Stderr bool `json:"stderr"`
}

// ErrNoMonitor means the container's monitor is not running and left no
// exit status: the container's fate is unknown (the monitor was killed, or
// the host rebooted). Callers treat the container as exited with code 255
// or whatever their reconciliation decides.
var ErrNoMonitor = errors.New("container monitor is not running and recorded no exit status")

// RuntimeError is a failure reported by the OCI runtime itself, e.g.
// `exec: "nope": executable file not found in $PATH`. Msg is the runtime's
// own text, without any prefix of ours.
type RuntimeError struct {
	Op       string // "create" or "start"
	Msg      string
	ExitCode int // the runtime's exit status, -1 if it did not exit normally
}

func (e *RuntimeError) Error() string { return e.Msg }

// Names of the files in Config.StateDir.
const (
	ConfigFile    = "monitor.json"
	AttachSocket  = "attach.sock"
	CtlSocket     = "ctl.sock"
	ConsoleSocket = "console.sock"
	InitPidFile   = "init.pid"
	ExitFile      = "exit.json"
	LogFile       = "monitor.log" // the monitor's own stdout/stderr
	RuntimeLog    = "runtime.log" // the runtime's --log during create; removed on success
)

// Stream numbers of the multiplexed attach frames (Docker's stdcopy).
const (
	StreamStdout = 1
	StreamStderr = 2
)

// CtlRequest is one request on ctl.sock.
type CtlRequest struct {
	Op     string `json:"op"`
	Height uint16 `json:"height,omitempty"`
	Width  uint16 `json:"width,omitempty"`
}

// CtlReply is any reply on ctl.sock, and the sync-pipe message: unused
// fields are omitted. A "wait" reply is the ExitStatus object itself.
type CtlReply struct {
	Error string `json:"error,omitempty"`
	Pid   int    `json:"pid,omitempty"`
	*ExitStatus
}

// Ready is the monitor's one message on the sync pipe (fd 3): Pid on
// success, Error otherwise. RuntimeExitCode is set when the error is the
// runtime's own (its create, or with Config.Start its start, failed: the
// verb is RuntimeOp, "create" when empty), so Start returns a
// *RuntimeError.
type Ready struct {
	Pid int `json:"pid,omitempty"`
	// Released: the release request sent on the go channel (Launched.
	// Release) was served, the container's process started.
	Released        bool   `json:"released,omitempty"`
	Error           string `json:"error,omitempty"`
	RuntimeExitCode *int   `json:"runtimeExitCode,omitempty"`
	RuntimeOp       string `json:"runtimeOp,omitempty"`
}

// ReleaseRequest asks a monitor launched ahead to start the container as
// soon as the runtime's create succeeds (Launched.Release).
type ReleaseRequest struct {
	// NetNS is the network namespace berthd wired for the container: the
	// monitor starts it only if its init is in that one ("": any).
	NetNS string `json:"netns,omitempty"`
	// Attach are the streams of the attach connections sent along, in
	// order; they are registered before the process starts.
	Attach []AttachOptions `json:"attach,omitempty"`
}

// FirstAttachFd is the monitor's descriptor of the first attach connection
// handed over at launch (after the sync pipe, fd 3).
const FirstAttachFd = 4
