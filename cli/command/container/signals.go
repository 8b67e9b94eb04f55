package container

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"

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
	signal.Notify(sigc, proxiedSignals()...)
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
