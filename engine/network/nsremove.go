package network

import (
	"sync"

	"github.com/berth-dev/berth/internal/testgate"
)

// nsRemovals are the network namespace mounts of exited containers being
// removed in the background, by path. Unmounting one waits for an RCU
// grace period (a millisecond or more on some hosts) that the client
// waiting for the exit need not wait for; the path is the container's
// own (ExecRoot/netns/ID), so only that container's next connect or
// reservation waits for its removal (await). A crash before it is over
// leaves a mount no sandbox record owns, which the next Reconcile removes
// (removeStaleLocked); Close waits for it (s.bg).
type nsRemovals struct {
	mu      sync.Mutex
	pending map[string]chan struct{}
}

// removeNetNSLater removes sb's namespace mount in the background. Caller
// holds s.mu (s.bg.Add must not race Close's s.bg.Wait).
func (s *Service) removeNetNSLater(sb *sandbox) {
	path := sb.rec.NetNS
	if path == "" {
		return
	}
	r := &s.nsRemovals
	done := make(chan struct{})
	r.mu.Lock()
	if r.pending == nil {
		r.pending = map[string]chan struct{}{}
	}
	r.pending[path] = done
	r.mu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		testgate.Wait(sb.rec.Name, "netns")
		if err := removeNetNS(path); err != nil {
			s.log.Warn("network namespace left behind", "container", sb.rec.ContainerID, "err", err)
		}
		r.mu.Lock()
		delete(r.pending, path)
		r.mu.Unlock()
		close(done)
	}()
}

// awaitNetNSRemoval returns once no removal of a namespace mount at path
// is under way.
func (s *Service) awaitNetNSRemoval(path string) {
	r := &s.nsRemovals
	r.mu.Lock()
	done := r.pending[path]
	r.mu.Unlock()
	if done != nil {
		<-done
	}
}
