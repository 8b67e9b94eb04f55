package container

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/berth-dev/berth/cli/client"
	"golang.org/x/sys/unix"
)

// forwardSignals implements --sig-proxy: every signal the CLI receives is
// sent to the container with ContainerKill, except the ones that concern
// only the CLI process (SIGCHLD, SIGPIPE, SIGWINCH, and SIGURG which the Go
// runtime uses for preemption). The returned func stops forwarding; the
// subscription itself ends in the background (signal.Stop of every signal
// is one round trip per signal to the runtime's signal thread, 1-4 ms on
// the way out of run, start -a and attach, which exit right after).
func forwardSignals(ctx context.Context, api client.APIClient, id string) func() {
	sigc := make(chan os.Signal, 128)
	release := colocateThreads()
	signal.Notify(sigc, proxiedSignals()...)
	release()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				signal.Stop(sigc)
				return
			case s := <-sigc:
				ss, ok := s.(unix.Signal)
				if !ok {
					continue
				}
				if ss == unix.SIGPIPE {
					continue
				}
				// Real-time signals have no name here: their number
				// goes, as docker's CLI forwards them too (RTMIN+n).
				name := strings.TrimPrefix(unix.SignalName(ss), "SIG")
				if name == "" {
					name = strconv.Itoa(int(ss))
				}
				_, _ = api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: name})
			}
		}
	}()
	return func() { close(done) }
}

// colocateThreads keeps every thread of the CLI on the CPU the caller runs
// on, until the returned func gives every thread the CPUs the caller was
// allowed (as Go starts them, all threads have the process's). The
// subscription to every signal is ~60 strict round trips between two
// threads (the subscriber's and the runtime's signal thread, see
// proxiedSignals); left to the scheduler, each wakes the other on the
// other CPU whenever that one is idle, which in a virtual machine is a
// wake-up of an idle virtual CPU (~30 µs here, against ~3 µs on the same
// CPU, and ~1 ms now and then): ~15 such wake-ups per `run`, ~3 % of it
// (bench/RESULTS.md). Only threads are moved, never the CPUs allowed to
// the process; on any error nothing is pinned.
func colocateThreads() (release func()) {
	var allowed, one unix.CPUSet
	if unix.SchedGetaffinity(0, &allowed) != nil || allowed.Count() < 2 {
		return func() {}
	}
	cpu, ok := currentCPU()
	if !ok || !allowed.IsSet(cpu) {
		return func() {}
	}
	one.Set(cpu)
	setThreadsAffinity(&one)
	return func() {
		// Twice: a thread started meanwhile by one still pinned would
		// otherwise keep the pin.
		setThreadsAffinity(&allowed)
		setThreadsAffinity(&allowed)
	}
}

// currentCPU is the CPU the calling thread runs on.
func currentCPU() (int, bool) {
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return 0, false
	}
	return int(cpu), true
}

// setThreadsAffinity sets the CPU affinity of every thread of the process.
func setThreadsAffinity(set *unix.CPUSet) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			_ = unix.SchedSetaffinity(tid, set)
		}
	}
}

// numSignals bounds the signal numbers on Linux (1 to 64; os/signal's
// numSig).
const numSignals = 65

// proxiedSignals is what forwardSignals subscribes to: every signal but
// SIGCHLD, SIGURG and SIGWINCH, which Go ignores unless subscribed (and
// the runtime uses SIGURG itself), so leaving them out changes nothing but
// the cost: each subscription is a round trip to the runtime's signal
// thread (two thread hand-offs on one P, 52 in all). SIGPIPE stays
// subscribed though not forwarded: subscribed, a write to a closed stdout
// fails with EPIPE instead of killing the CLI, as docker's CLI does.
func proxiedSignals() []os.Signal {
	sigs := make([]os.Signal, 0, numSignals)
	for n := 1; n < numSignals; n++ {
		switch s := unix.Signal(n); s {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		default:
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// forwardSignalsAsync is forwardSignals subscribing in the background:
// subscribing to every signal is one round trip per signal to the
// runtime's signal thread (~0.65 ms of CPU), which run overlaps with its
// attach and wait requests. ready returns once forwarding is in place
// (run calls it before start, so every signal from start on is
// forwarded, as before); stop waits for it too, then stops forwarding.
func forwardSignalsAsync(ctx context.Context, api client.APIClient, id string) (ready, stop func()) {
	stopc := make(chan func(), 1)
	go func() { stopc <- forwardSignals(ctx, api, id) }()
	subscribed := sync.OnceValue(func() func() { return <-stopc })
	return func() { subscribed() }, func() { subscribed()() }
}
