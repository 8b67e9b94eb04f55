package containers

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Status values, as Docker reports them.
const (
	StatusCreated    = "created"
	StatusRunning    = "running"
	StatusPaused     = "paused"
	StatusRestarting = "restarting"
	StatusRemoving   = "removing"
	StatusExited     = "exited"
	StatusDead       = "dead"
)

// State is the persisted lifecycle state of a container.
type State struct {
	Status     string
	Pid        int
	MonitorPid int
	ExitCode   int
	Error      string
	OOMKilled  bool
	StartedAt  time.Time
	FinishedAt time.Time
	// StoppedByUser is set by stop/kill so restart policies leave it alone.
	StoppedByUser bool
}

// Running reports whether the container's process is alive (running or paused).
func (s State) Running() bool { return s.Status == StatusRunning || s.Status == StatusPaused }

// Container is the persisted record of one container.
type Container struct {
	ID           string
	Name         string // without the leading "/"
	Created      time.Time
	Path         string
	Args         []string
	Config       *container.Config
	HostConfig   *container.HostConfig
	ImageID      string
	Runtime      string
	State        State
	RestartCount int
	// Dir holds the container's files (hostname, hosts, resolv.conf, log).
	Dir string
	// LogPath is the json-file log.
	LogPath string
	// Pod is the CRI sandbox the container belongs to (nil for Docker's).
	Pod *PodOptions `json:",omitempty"`
	// MountPoints are the container's volumes, binds and tmpfs mounts.
	MountPoints []mounts.MountPoint
	// Endpoints are the networks asked for at create or connect (aliases,
	// fixed addresses), keyed by network name.
	Endpoints map[string]*network.EndpointSettings `json:",omitempty"`
}

// entry is a container in memory: its record plus the machinery that lives
// only while berthd runs.
type entry struct {
	// mu guards c and the run state below; unlocking it publishes row.
	mu recMutex
	c  Container
	// row is what the list shows of e, published whenever e.mu is let go
	// (listrow.go): `ps` reads it without e.mu.
	row atomic.Pointer[listRow]
	// changed is closed and replaced on every state change, so waiters can
	// block without polling.
	changed chan struct{}
	// pendingAttach holds attach sessions waiting for the next start.
	pendingAttach []*attachSession
	// exited is closed when the current run ends (nil when not running).
	exited chan struct{}
	// removed is closed when the container is removed.
	removed chan struct{}
	// execs of this container, by exec ID.
	execs map[string]*execEntry
	// health is the healthcheck state of the current run (nil: none).
	health *container.Health
	// runs counts the runs started, ended those that ended (for Wait).
	runs, ended int
	// backoff is the current restart back-off; restartTimer a pending restart.
	backoff      time.Duration
	restartTimer *time.Timer
	// killToRemove is set while rm -f kills the container: the exit of
	// that run is not written to the store, whose record is deleted next
	// (written if the removal fails: see deleteContainer).
	killToRemove bool
	// netRecordOp is a change of the sandbox record left for the next
	// write of the container's record: its deletion after an ended run
	// whose container's removal follows (see endRun), committed with the
	// removal; or its creation by a start's connect (see addNetRecord).
	netRecordOp store.Op
	// prep is the start made ahead while the container is created (nil:
	// none; see startahead.go).
	prep *preparation
	// early is the monitor launched as the container was created, for
	// its preparation ahead (nil: none; see launchAtCreate). It holds a
	// slot of Service.ahead until taken or dropped.
	early *earlyMonitor
	// amu guards ahead, the preparation in flight (nil: none), which
	// holds mu meanwhile (see aheadlock.go).
	amu   sync.Mutex
	ahead *aheadState
}

func newEntry(c Container) *entry {
	e := &entry{c: c, changed: make(chan struct{}), removed: make(chan struct{}), execs: map[string]*execEntry{}}
	e.mu.e = e
	e.publishRow()
	return e
}

// notify wakes everyone waiting for a state change, after publishing
// e's row: a client woken by it (stop, kill, wait) may list at once, and
// must see the change, though e.mu is held a while longer (an exit's
// clean-up). Caller holds e.mu.
func (e *entry) notify() {
	e.publishRow()
	close(e.changed)
	e.changed = make(chan struct{})
}

// addNetRecord leaves op, a start's sandbox record (nil: none), to the
// next write of e's record, after the changes left before it. Caller
// holds e.mu.
func (e *entry) addNetRecord(op store.Op) {
	if op != nil {
		e.netRecordOp = store.All(e.netRecordOp, op)
	}
}
