package containers

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/testgate"
	"golang.org/x/sys/unix"
)

// How start, attach and wait meet a preparation in flight (startahead.go).
//
// A preparation holds e.mu from before it is published in e.ahead until
// after it is withdrawn, and changes nothing of e's run counters, health,
// execs or pending sessions meanwhile, nor of its record but the mount
// points' resolution (mounts.Prepare): while e.ahead is set, e is a
// created container and stays one. So attach, wait and inspect, which
// only read that, read it under the small lock e.amu, the record from a
// copy made as the preparation began, instead of queueing on e.mu behind
// the whole preparation (`run` attaches and waits before it starts,
// `start -a` inspects and attaches). A start claims the preparation: it wires the container's
// network into the namespace reserved for it while the preparation goes
// on (the network is the start's own work, and needs only that
// namespace), and when the preparation ends e.mu is handed to it rather
// than unlocked, so nothing else changes e in between and the start goes
// on as if it had waited for e.mu: release the prepared container, or,
// when the preparation failed or no longer fits, start afresh with the
// usual errors (the afresh start's connect finds the network already
// wired and takes it). One start claims; a second one queues on e.mu.

// aheadState is a preparation in flight. e.amu guards claimed and attach.
type aheadState struct {
	// rec is e's record as the preparation began, for readers meanwhile
	// (its own MountPoints, which the preparation resolves in e.c).
	rec Container
	// reserved is closed once the container's network namespace is
	// reserved: a start may wire the network from then on.
	reserved       chan struct{}
	reservedClosed bool // touched by the preparing goroutine only
	// done is closed when the preparation is over; e.mu then belongs to
	// the claiming start, if claimed.
	done    chan struct{}
	claimed bool
	// attach holds the sessions waiting for the start (those registered
	// before too), for e.pendingAttach.
	attach []*attachSession
	// mon is the preparation's monitor, once launched (nil: not yet, or
	// none); rel is the claiming start's early release (releaseEarly).
	// Whichever of the two is set second sends rel to mon.
	mon *monitor.Launched
	rel *earlyRelease
}

// beginAhead publishes the preparation about to run. Caller holds e.mu.
func (e *entry) beginAhead() *aheadState {
	st := &aheadState{rec: e.c, reserved: make(chan struct{}), done: make(chan struct{})}
	st.rec.MountPoints = slices.Clone(e.c.MountPoints)
	e.amu.Lock()
	e.ahead = st
	// Sessions waiting for the start wait in st.attach meanwhile, so a
	// claiming start can hand them to the monitor early.
	st.attach, e.pendingAttach = e.pendingAttach, nil
	e.amu.Unlock()
	return st
}

// endAhead withdraws the preparation, hands the sessions registered
// meanwhile to e.pendingAttach, and lets go of e.mu: handed to the start
// that claimed the preparation, unlocked otherwise. Caller holds e.mu.
func (e *entry) endAhead(st *aheadState) {
	e.amu.Lock()
	e.ahead = nil
	e.pendingAttach = append(e.pendingAttach, st.attach...)
	st.attach = nil
	claimed := st.claimed
	e.amu.Unlock()
	close(st.done)
	if !claimed {
		e.mu.Unlock()
	}
}

// duringPrep runs f under e.amu if a preparation is in flight (e's record
// then stays as it is) and reports whether it did.
func (e *entry) duringPrep(f func(st *aheadState)) bool {
	e.amu.Lock()
	defer e.amu.Unlock()
	if e.ahead == nil {
		return false
	}
	f(e.ahead)
	return true
}

// view runs f, which only reads c (e's record), e's run counters,
// health and execs: beside a preparation in flight, or under e.mu.
func (e *entry) view(f func(c *Container)) {
	if e.duringPrep(func(st *aheadState) { f(&st.rec) }) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.c)
}

// claimAhead claims e's preparation in flight for a start (nil: none, or
// claimed by another start already).
func (e *entry) claimAhead() *aheadState {
	var claimed *aheadState
	e.duringPrep(func(st *aheadState) {
		if !st.claimed {
			st.claimed = true
			claimed = st
		}
	})
	return claimed
}

// aheadReserved tells a start waiting for e's preparation that the
// network namespace is reserved. Called by the preparation.
func (s *Service) aheadReserved(e *entry) error {
	var st *aheadState
	e.duringPrep(func(a *aheadState) { st = a })
	if st == nil {
		return nil
	}
	if !st.reservedClosed {
		st.reservedClosed = true
		close(st.reserved)
	}
	return prepGate(e.c.Name, "reached")
}

// lockForStart takes e.mu for a start. With a preparation in flight the
// start claims it, wires the network meanwhile, asks the monitor to start
// the process as soon as it is created (releaseEarly) and takes e.mu over
// as the preparation ends. It reports whether the network was wired so,
// and the commit of its sandbox record (see connectResult).
func (s *Service) lockForStart(ctx context.Context, e *entry) (wired bool, record store.Op) {
	st := e.claimAhead()
	if st == nil {
		e.mu.Lock()
		return false, nil
	}
	prepGate(e.c.Name, "claimed")
	var rel *earlyRelease
	select {
	case <-st.reserved:
		// e.c is read while the preparation holds e.mu: it stays as is.
		att, rec, err := s.connectAsync(ctx, &e.c).wait().get()
		wired, record = att != nil && err == nil, rec
		if err == nil {
			rel = s.releaseEarly(e, st, att)
		}
	case <-st.done:
	}
	<-st.done
	e.keepEarly(rel)
	return wired, record
}

// aheadMonitor publishes the preparation's monitor, once launched, and
// sends it the claiming start's early release if that came first.
func (e *entry) aheadMonitor(mon *monitor.Launched) {
	if mon == nil {
		return
	}
	var rel *earlyRelease
	e.duringPrep(func(st *aheadState) {
		st.mon, rel = mon, st.rel
	})
	if rel != nil {
		rel.send(mon)
	}
}

// prepGateDir is for tests only: see prepGate.
var prepGateDir = testgate.FromEnv("BERTH_TEST_PREP_GATE")

// prepGate lets a test hold a preparation at a known point (no timing;
// see package testgate): with BERTH_TEST_PREP_GATE set to a directory
// holding a FIFO named after the container, a preparation that reached
// its namespace creates NAME.reached and waits until the test writes to
// the FIFO ("fail" fails it); a start that claims the preparation creates
// NAME.claimed, and one that sends the early release NAME.requested. With
// a FIFO named NAME.create, a create that launched the container's monitor
// ahead of its record's commit creates NAME.create.launched and waits
// there; with one named NAME.start, a start released early creates
// NAME.start.released and waits there.
func prepGate(name, step string) error {
	fifo := strings.TrimPrefix(name, "/")
	switch step {
	case "launched":
		fifo += ".create"
	case "released":
		fifo += ".start"
	}
	said, err := prepGateDir.Hold(fifo, step, step != "claimed" && step != "requested")
	if err == nil && said == "fail" {
		return errors.New("preparation failed at the test's gate")
	}
	return err
}

// inNetNS reports whether process pid is in the network namespace mounted
// at path.
func inNetNS(pid int, path string) bool {
	var own, at unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &own) != nil || unix.Stat(path, &at) != nil {
		return false
	}
	return own.Dev == at.Dev && own.Ino == at.Ino
}
