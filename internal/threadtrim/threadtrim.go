// Package threadtrim gives back the OS threads a burst of blocking system
// calls left idle in a long-running Go program.
//
// Go starts a thread whenever a goroutine blocks in a system call and
// another goroutine could run, and never ends an idle one: after `rm -f`
// of 200 containers (200 concurrent unmounts, directory removals, netlink
// calls) berthd kept 30 to 50 threads for the rest of its life instead of
// about 10. The runtime ends a thread when a goroutine exits while locked
// to it (runtime.LockOSThread), and the processor it held passes to an
// idle thread; Trim does that once per idle thread beyond a small reserve.
package threadtrim

import (
	"runtime"
	"runtime/metrics"
)

// Reserve is how many idle threads Trim leaves for the next blocking calls.
const Reserve = 2

// always are threads that are neither idle nor running goroutines: sysmon
// and the template thread.
const always = 2

var names = []string{
	"/sched/threads/total:threads",
	"/sched/gomaxprocs:threads",
	"/sched/goroutines/not-in-go:goroutines",
}

// Idle estimates the idle threads: all of the runtime's threads minus one
// per processor, one per goroutine in a system call and the runtime's own.
// Threads locked to a waiting goroutine count as idle (an estimate too
// high by those is harmless to Trim: see there).
func Idle() int {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := make([]int, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int(s[i].Value.Uint64())
		}
	}
	return max(v[0]-v[1]-v[2]-always, 0)
}

// Threads is the number of threads the Go runtime owns.
func Threads() int {
	s := []metrics.Sample{{Name: names[0]}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int(s[0].Value.Uint64())
}

// Trim ends idle threads beyond Reserve and returns how many it ended. A
// thread ended when none was idle after all is replaced only if work is
// waiting, so an estimate too high costs a thread start at worst. Call it
// when a burst is over, not on a hot path: each thread costs a goroutine
// start and a thread exit (some microseconds).
func Trim() int {
	n := Idle() - Reserve
	for i := 0; i < n; i++ {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(done)
			// Returning while locked ends this thread.
		}()
		<-done
	}
	return max(n, 0)
}
