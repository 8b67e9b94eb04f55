package network

import "time"

// A sandbox's host veths are not deleted when it ends, but looked for a
// while after its namespace lost its mount: with nothing else holding the
// namespace (the container's processes gone, its DNS sockets closed) the
// kernel destroys it, and both ends of its veths with it, in one batch
// with the namespace's loopback, in a kernel thread. Deleting a host end
// first cost the daemon an unregistration of its own (a sysctl table
// dropped, an expedited RCU grace period under the RTNL lock) and the
// namespace's destruction just as much work afterwards. Only a veth still
// there then, its namespace held by something else (a process that
// outlived the container, a descriptor of the namespace opened by some
// tool), is deleted explicitly. Close and settle look at once for all
// that wait, so nothing is left once the daemon stops.

// vethCheckDelay is how long after a sandbox's end its host veths are
// looked for: the kernel destroys an unreferenced namespace within
// milliseconds, grace periods included, even on a loaded host.
const vethCheckDelay = time.Second

type queuedVeth struct {
	name  string
	netns string    // the sandbox's namespace mount ("" without one)
	due   time.Time // when to look for it
}

// deleteVethsLater queues the sandbox's host-side veths for the check
// above, in the background. One goroutine works the queue: deletions
// serialise on the kernel's RTNL lock anyway, and a goroutine per sandbox
// blocked in netlink each held an OS thread, which Go keeps for good
// (`rm -f` of 200 left berthd with 50 threads instead of 9). Caller holds
// s.mu (s.bg.Add must not race Close's s.bg.Wait).
func (s *Service) deleteVethsLater(sb *sandbox) {
	due := time.Now().Add(vethCheckDelay)
	for _, ep := range sb.rec.Endpoints {
		if ep.HostVeth != "" {
			s.vethQueue = append(s.vethQueue, queuedVeth{name: ep.HostVeth, netns: sb.rec.NetNS, due: due})
		}
	}
	if len(s.vethQueue) == 0 || s.vethWorker {
		return
	}
	s.vethWorker = true
	if s.vethFlush == nil {
		s.vethFlush = make(chan struct{}, 1)
	}
	s.bg.Add(1)
	go s.deleteQueuedVeths(s.vethFlush)
}

// deleteQueuedVeths deletes the queued veths still there when they are
// due (all at once after a flush) until the queue is empty.
func (s *Service) deleteQueuedVeths(flush chan struct{}) {
	defer s.bg.Done()
	flushed := false
	for {
		s.mu.Lock()
		if len(s.vethQueue) == 0 {
			s.vethQueue, s.vethWorker = nil, false
			select {
			case <-flush: // a flush that came as the queue emptied
			default:
			}
			s.mu.Unlock()
			return
		}
		v := s.vethQueue[0]
		s.vethQueue = s.vethQueue[1:]
		s.mu.Unlock()
		if !flushed {
			flushed = waitUntil(v.due, flush)
		}
		// The namespace holds the veth while it is mounted.
		s.awaitNetNSRemoval(v.netns)
		deleted, err := deleteLinkIfThere(v.name)
		if err != nil {
			s.log.Warn("could not delete a container's veth", "veth", v.name, "err", err)
		}
		if deleted {
			s.vethsDeleted.Add(1)
		}
	}
}

// waitUntil returns at t, or earlier, true, once flush receives.
func waitUntil(t time.Time, flush <-chan struct{}) (flushed bool) {
	d := time.Until(t)
	if d <= 0 {
		return false
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return false
	case <-flush:
		return true
	}
}

// flushVethsLocked makes the queue's worker look for all its veths now.
// Caller holds s.mu.
func (s *Service) flushVethsLocked() {
	if !s.vethWorker {
		return
	}
	select {
	case s.vethFlush <- struct{}{}:
	default:
	}
}
