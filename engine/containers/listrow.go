package containers

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/moby/moby/api/types/container"
)

// The list (`ps`) reads each container's row, a copy of what it shows of
// the container that is published whenever the container's lock is let
// go: a list never waits for a container's lock, so one start stuck in a
// hung runtime does not hold up every `ps`, and the row it reads was
// whole when published (never half of a change). What the row shows is
// the container as of the last change made under its lock.

// recMutex is an entry's lock: Unlock publishes the entry's row first.
type recMutex struct {
	sync.Mutex
	e *entry
}

// Unlock publishes the row of the entry it guards and unlocks.
func (m *recMutex) Unlock() {
	m.e.publishRow()
	m.Mutex.Unlock()
}

// listRow is a container as the list shows it, never changed once
// published. c is a copy of the record whose slices and maps that change
// in place (mount points, endpoints) are its own; Config and HostConfig
// are shared with the record, and the list reads only what create fixed
// there (image, labels, network mode, ports, isolation).
type listRow struct {
	c Container
	// health is the current run's healthcheck summary (nil: none).
	health *container.HealthSummary
	// enc caches the row's JSON (see rowJSON).
	enc atomic.Pointer[rowJSON]
}

// publishRow publishes e's row from its record and health. Caller holds
// e.mu (or e is not shared yet).
func (e *entry) publishRow() {
	r := &listRow{c: e.c}
	r.c.MountPoints = slices.Clone(e.c.MountPoints)
	r.c.Endpoints = maps.Clone(e.c.Endpoints)
	if e.health != nil && e.c.State.Running() {
		r.health = &container.HealthSummary{Status: e.health.Status, FailingStreak: e.health.FailingStreak}
	}
	e.row.Store(r)
}

// healthStatus is the health filter's value for the row.
func (r *listRow) healthStatus() string {
	if r.health == nil {
		return string(container.NoHealthcheck)
	}
	return string(r.health.Status)
}
