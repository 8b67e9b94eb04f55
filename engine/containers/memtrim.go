package containers

import (
	"runtime/debug"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/threadtrim"
)

// trimDelay is how long removals must have been quiet before berthd hands
// its freed heap back to the system.
const trimDelay = 3 * time.Second

// afterRemovals returns freed memory and idle OS threads to the system once
// a burst of removals is over. Go's scavenger returns freed heap only
// gradually, so after 200 containers came and went berthd kept about twice
// its fresh resident size for minutes; and the threads the burst's
// blocking system calls made stay for good unless ended (threadtrim). One
// forced collection per burst (not per removal) costs a few milliseconds
// of one core.
var afterRemovals memTrim

type memTrim struct {
	mu    sync.Mutex
	timer *time.Timer
}

// kick (re)arms the trim: it runs trimDelay after the last kick.
func (m *memTrim) kick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer == nil {
		m.timer = time.AfterFunc(trimDelay, trimAfterBurst)
		return
	}
	m.timer.Reset(trimDelay)
}

func trimAfterBurst() {
	debug.FreeOSMemory()
	threadtrim.Trim()
}
