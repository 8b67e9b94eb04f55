package containers

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/moby/moby/api/types/container"
)

// fakePrep stands for a preparation in flight: it holds e.mu, published
// in e.ahead, until release is closed.
type fakePrep struct {
	st      *aheadState
	release chan struct{}
	ended   chan struct{}
}

func startFakePrep(e *entry) *fakePrep {
	f := &fakePrep{release: make(chan struct{}), ended: make(chan struct{})}
	e.mu.Lock()
	f.st = e.beginAhead()
	go func() {
		// As mounts.Prepare resolves the mount points in the record.
		for i := range e.c.MountPoints {
			e.c.MountPoints[i].Source = "/resolved"
		}
		<-f.release
		e.endAhead(f.st)
		close(f.ended)
	}()
	return f
}

func testService(t *testing.T) (*Service, *entry) {
	t.Helper()
	c := Container{ID: "0123456789ab", Name: "/prep", Config: &container.Config{}, HostConfig: &container.HostConfig{},
		State: State{Status: StatusCreated}, MountPoints: []mounts.MountPoint{{Type: mounts.TypeVolume, Destination: "/data"}}}
	e := newEntry(c)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &Service{byID: map[string]*entry{c.ID: e}, byName: map[string]string{c.Name: c.ID}, ctx: ctx, cancel: cancel}, e
}

// within fails the test if f does not return in a generous bound (it
// would block on the lock the preparation holds).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s waited for the container's lock", what)
	}
}

func TestAttachAndWaitBesidePreparation(t *testing.T) {
	s, e := testService(t)
	f := startFakePrep(e)
	var kept, dropped *AttachHandle
	within(t, "attach", func() {
		var err error
		if kept, _, err = s.AttachRegister(e.c.ID, AttachOptions{Stream: true, Stdout: true}); err != nil {
			t.Error(err)
		}
		if dropped, _, err = s.AttachRegister(e.c.ID, AttachOptions{Stream: true, Stderr: true}); err != nil {
			t.Error(err)
		}
		dropped.Cancel()
	})
	e.view(func(c *Container) {
		if c.MountPoints[0].Source != "" {
			t.Error("a view beside the preparation reads the record it changes")
		}
	})
	within(t, "wait", func() {
		if _, err := s.Wait(context.Background(), e.c.ID, "next-exit"); err != nil {
			t.Error(err)
		}
	})
	close(f.release)
	<-f.ended
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.pendingAttach) != 1 || e.pendingAttach[0] != kept.a {
		t.Errorf("after the preparation, %d sessions wait for the start, want the one not cancelled", len(e.pendingAttach))
	}
	if e.ahead != nil {
		t.Error("the preparation is still published after it ended")
	}
}

func TestStartTakesLockOverFromPreparation(t *testing.T) {
	s, e := testService(t)
	f := startFakePrep(e)
	started := make(chan struct{})
	go func() {
		s.lockForStart(context.Background(), e)
		e.c.State.Status = StatusRunning
		e.runs++
		e.mu.Unlock()
		close(started)
	}()
	waitClaimed(t, e)
	if e.claimAhead() != nil {
		t.Error("a second start claimed the same preparation")
	}
	seen := make(chan string, 1)
	go func() {
		e.mu.Lock()
		seen <- e.c.State.Status
		e.mu.Unlock()
	}()
	close(f.release)
	<-started
	if st := <-seen; st != StatusRunning {
		t.Errorf("the lock went to another holder before the start (it saw %q)", st)
	}
}

// waitClaimed waits until the start goroutine claimed the preparation.
func waitClaimed(t *testing.T, e *entry) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		claimed := false
		e.duringPrep(func(st *aheadState) { claimed = st.claimed })
		if claimed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the start never claimed the preparation")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInNetNS(t *testing.T) {
	if !inNetNS(os.Getpid(), "/proc/self/ns/net") {
		t.Error("a process is not in its own network namespace")
	}
	if inNetNS(os.Getpid(), "/proc/self/ns/mnt") || inNetNS(os.Getpid(), filepath.Join(t.TempDir(), "none")) {
		t.Error("a process is in another namespace, or in a missing one")
	}
}
