package container

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/internal/clitest"
	"golang.org/x/sys/unix"
)

// TestForwardSignalsAsyncReady checks that once ready returns, a signal
// the CLI receives is forwarded to the container (run starts the
// container only after ready), and that stop ends the forwarding.
func TestForwardSignalsAsyncReady(t *testing.T) {
	killed := make(chan string, 1)
	d := clitest.NewFakeDaemon(t, map[string]http.HandlerFunc{
		"POST /containers/c1/kill": func(w http.ResponseWriter, r *http.Request) {
			killed <- r.URL.Query().Get("signal")
			w.WriteHeader(http.StatusNoContent)
		},
	})
	api, err := client.New(client.WithHost(d.Host))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ready, stop := forwardSignalsAsync(context.Background(), api, "c1")
	ready()
	// SIGUSR1 would end the test binary were it not caught.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if got := <-killed; got != "USR1" {
		t.Errorf("forwarded signal %q, want USR1", got)
	}
	// A real-time signal (no name in x/sys) goes by its number.
	if err := syscall.Kill(syscall.Getpid(), syscall.Signal(35)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-killed:
		if got != "35" {
			t.Errorf("forwarded real-time signal %q, want 35", got)
		}
	case <-time.After(10 * time.Second):
		t.Error("real-time signal 35 not forwarded")
	}
	stop()
}

// TestProxiedSignals checks forwardSignals subscribes to every signal
// docker's CLI forwards (real-time ones included) and SIGPIPE, and leaves
// out only the three Go ignores when unsubscribed.
func TestProxiedSignals(t *testing.T) {
	got := map[syscall.Signal]bool{}
	for _, s := range proxiedSignals() {
		got[s.(syscall.Signal)] = true
	}
	for n := syscall.Signal(1); n < numSignals; n++ {
		want := n != syscall.SIGCHLD && n != syscall.SIGURG && n != syscall.SIGWINCH
		if got[n] != want {
			t.Errorf("signal %d (%v) subscribed: %v, want %v", int(n), n, got[n], want)
		}
	}
	if len(got) != numSignals-4 {
		t.Errorf("%d signals subscribed, want %d", len(got), numSignals-4)
	}
}

// TestColocateThreads checks that the subscription's pin holds every
// thread of the process on one CPU and that its release gives every thread
// the CPUs the caller had.
func TestColocateThreads(t *testing.T) {
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Skip("no affinity:", err)
	}
	if before.Count() < 2 {
		t.Skip("one CPU: nothing to colocate")
	}
	threads := func() map[int]unix.CPUSet {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]unix.CPUSet{}
		for _, e := range ents {
			tid, _ := strconv.Atoi(e.Name())
			var s unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &s); err == nil {
				out[tid] = s
			}
		}
		return out
	}
	release := colocateThreads()
	pinned := threads()
	cpu := -1
	for tid, s := range pinned {
		if s.Count() != 1 {
			release()
			t.Fatalf("thread %d may run on %d CPUs while colocated, want 1", tid, s.Count())
		}
		for c := 0; c < 1024; c++ {
			if s.IsSet(c) {
				if cpu >= 0 && c != cpu {
					release()
					t.Fatalf("threads pinned to CPUs %d and %d, want one", cpu, c)
				}
				cpu = c
			}
		}
	}
	release()
	for tid, s := range threads() {
		if s != before {
			t.Errorf("thread %d has affinity %v after release, want %v", tid, s, before)
		}
	}
}
