// Package lowprio runs background work (deleting trash, ending detached
// overlays) at the lowest CPU priority, so that a burst of removals that
// queues such work does not also compete with it: the replies come first,
// the clean-up after. On 2 cores, `rm -f` of many spent about a fifth of
// berthd's CPU in work that nobody waits for.
package lowprio

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// niceness is what the calling thread runs f at (19: the lowest).
const niceness = 19

// Do runs f on the calling goroutine, its OS thread niced while f runs.
// When the thread's priority cannot be set (no CAP_SYS_NICE), f runs as
// it is; when it cannot be restored, the thread stays with the goroutine
// (and ends with it) rather than serve others at the low priority.
func Do(f func()) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	old, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil || unix.Setpriority(unix.PRIO_PROCESS, tid, niceness) != nil {
		runtime.UnlockOSThread()
		f()
		return
	}
	defer func() {
		// getpriority(2)'s raw value is 20 - nice.
		if unix.Setpriority(unix.PRIO_PROCESS, tid, 20-old) == nil {
			runtime.UnlockOSThread()
		}
	}()
	f()
}
