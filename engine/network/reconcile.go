package network

import (
	"context"
	"errors"
	"golang.org/x/sys/unix"
	"os"

	"github.com/vishvananda/netns"
)

// Reconcile runs at berthd start, after New, with the IDs of the
// containers still running. Their sandboxes are kept: host ports are
// re-reserved and the embedded DNS restarted inside their netns. Every
// other sandbox is torn down, and whatever no record owns is removed: netns
// mounts under ExecRoot/netns, veths on Berth's bridges, addresses. The
// rule chains are rewritten whole from the kept state and each built-in
// chain keeps exactly one jump, however many times berthd restarted or
// crashed.
func (s *Service) Reconcile(ctx context.Context, live []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := map[string]bool{}
	for _, id := range live {
		keep[id] = true
	}
	var errs []error
	for id, sb := range s.sandboxes {
		if !keep[id] {
			if err := s.teardownLocked(ctx, sb); err != nil {
				s.log.Warn("reconcile: tearing down a dead container's network", "container", id, "err", err)
			}
		}
	}
	keptNS := map[string]bool{}
	keptVeths := map[string]bool{}
	for id, sb := range s.sandboxes {
		if sb.rec.NetNS != "" {
			keptNS[sb.rec.NetNS] = true
			if _, err := os.Stat(sb.rec.NetNS); err != nil {
				s.log.Warn("reconcile: a live container's network namespace mount is missing", "container", id, "path", sb.rec.NetNS)
			}
		}
		for _, ep := range sb.rec.Endpoints {
			keptVeths[ep.HostVeth] = true
		}
		s.resumeSandboxLocked(id, sb)
	}
	errs = append(errs, s.removeStaleLocked(keptNS, keptVeths)...)
	if s.cfg.Iptables {
		if err := s.chains.EnsureChains(ctx); err != nil {
			errs = append(errs, err)
		} else if err := s.applyAllRules(ctx); err != nil {
			errs = append(errs, err)
		} else if err := s.chains.EnsureJumps(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.refreshDNSLocked()
	// After the sweep of unowned namespaces, which takes a crashed
	// daemon's pool with it.
	s.refillPool()
	return errors.Join(errs...)
}

// resumeSandboxLocked gives a live container's sandbox back what a daemon
// restart lost: the host-port reservations and the embedded DNS server.
func (s *Service) resumeSandboxLocked(id string, sb *sandbox) {
	if sb.reservations == nil {
		for _, p := range sb.rec.Ports {
			c, _, err := reservePort(p.Proto, p.HostIP, p.HostPort)
			if err != nil {
				s.log.Warn("reconcile: could not re-reserve a published port", "container", id, "port", p.HostPort, "err", err)
				continue
			}
			if c != nil {
				sb.reservations = append(sb.reservations, c)
			}
		}
	}
	if sb.dns == nil && sb.rec.NetNS != "" && s.needsDNS(sb) {
		var conns *dnsSockets
		err := inNetNS(sb.rec.NetNS, false, func(netns.NsHandle) error {
			c, err := listenDNS()
			conns = c
			return err
		})
		if err != nil {
			s.log.Warn("reconcile: could not restart the embedded DNS", "container", id, "err", err)
		} else {
			sb.dns = s.startDNS(id, conns)
		}
	}
}

// removeStaleLocked removes the namespaces and host veths no live sandbox
// keeps (left by containers that died with the daemon down).
func (s *Service) removeStaleLocked(keptNS, keptVeths map[string]bool) []error {
	var errs []error
	for _, path := range listNetNS(s.netns) {
		if !keptNS[path] {
			if err := removeNetNS(path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var bridges []string
	for _, n := range s.nets {
		if n.rec.Driver == "bridge" {
			bridges = append(bridges, n.rec.Bridge)
		}
	}
	for _, v := range staleVeths(bridges, keptVeths) {
		if err := deleteLink(v); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Close stops the embedded DNS servers, releases host-port reservations and
// detaches the published ports' fast path (DNAT serves them from then on);
// kernel state stays for the containers that keep running. For berthd
// shutdown and tests.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sb := range s.sandboxes {
		if sb.dns != nil {
			sb.dns.Close()
			sb.dns = nil
		}
		closeAll(sb.reservations)
		sb.reservations = nil
	}
	for id, g := range s.gwDNS {
		g.srv.Close()
		delete(s.gwDNS, id)
	}
	s.closePool()
	s.closeFastPath()
	s.flushVethsLocked()
	s.mu.Unlock()
	s.bg.Wait()
	if err := s.drainPool(); err != nil {
		s.log.Warn("removing the prepared network namespaces", "err", err)
	}
	s.mu.Lock()
	if len(s.sandboxes) == 0 {
		// Nothing runs: leave no mount behind (the next start makes it
		// again). With live containers their namespaces stay mounted.
		unix.Unmount(s.netns, unix.MNT_DETACH)
	}
}

// settle waits for background veth deletions, due or not, and namespace
// removals (tests compare kernel state).
func (s *Service) settle() {
	s.mu.Lock()
	s.flushVethsLocked()
	s.mu.Unlock()
	s.bg.Wait()
}

// RemoveAllRules deletes Berth's chains and jumps (uninstall, tests).
func (s *Service) RemoveAllRules(ctx context.Context) error {
	return s.chains.RemoveAll(ctx)
}
