package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A netns pool keeps a few network namespaces prepared for bridge
// endpoints (Config.NetnsPool), so a container's start does not wait for
// the kernel to make a namespace and a veth pair. An entry is a namespace
// mounted at ExecRoot/netns/.pool-*, loopback up and ports below 1024
// open (prepareNetNS), holding "eth0", one end of a veth pair whose other
// end waits in the host's namespace, down and on no bridge. A start takes
// one (takePooled), moves its mount to the container's path and does
// the rest as for a new one: MAC, address, up, route, bridge. The pool is
// refilled in the background shortly after that start (RefillPool).
//
// Entries are never recorded: after a crash the next Reconcile removes
// their mounts with every other namespace no sandbox owns, and the
// kernel deletes the veths with the namespaces. Close removes them.

// poolPrefix starts the name of a pooled namespace's mount point.
const poolPrefix = ".pool-"

// poolIfName is the container end's name in a pooled namespace: the
// primary endpoint's, the only one a pooled namespace serves.
const poolIfName = "eth0"

type pooledNS struct {
	path string // ExecRoot/netns/.pool-*
	veth string // the host end
	mtu  int
	// ifIndex is the index of eth0 inside the namespace (0: unknown).
	ifIndex int
}

type nsPool struct {
	mu      sync.Mutex
	entries []pooledNS
	// grown is how many entries beyond Config.NetnsPool the pool keeps
	// after starts found it empty (see takePooled), until idle.
	grown int
	idle  *time.Timer
	// refill runs refillPool after RefillPool's delay; refillArmed
	// while it waits.
	refill      *time.Timer
	refillArmed bool
	filling     bool
	closed      bool
	// reserved are namespaces held for prepared containers, by container
	// ID, already mounted at their paths (reserve_linux.go).
	reserved map[string]*pooledNS
}

// The pool sizes itself to the load: each start that finds it empty
// (containers started together outnumber its entries) makes it keep one
// more entry, up to poolGrowMax more, so the next such burst takes its
// namespaces ready-made; poolIdle after the last start that took one, it
// returns to Config.NetnsPool. An entry is about 100 KiB of kernel memory.
const (
	poolGrowMax = 6
	poolIdle    = time.Minute
)

// poolUsable reports whether the namespace of a sandbox joining plans
// can come from the pool: one IPv4-only bridge endpoint.
func poolUsable(plans []endpointPlan) bool {
	return len(plans) == 1 && plans[0].n.rec.Driver == "bridge" && plans[0].n.pool6 == nil
}

// takePooled returns a prepared namespace for an endpoint with this MTU,
// if one is ready (entries have the daemon's MTU: a network with its own
// takes none).
func (s *Service) takePooled(mtu int) *pooledNS {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.cfg.NetnsPool <= 0 || p.closed {
		return nil
	}
	var taken *pooledNS
	for i, e := range p.entries {
		if e.mtu == mtu {
			p.entries = append(p.entries[:i], p.entries[i+1:]...)
			taken = &e
			break
		}
	}
	if taken == nil && mtu == s.cfg.MTU && p.grown < poolGrowMax {
		p.grown++
	}
	if p.grown > 0 {
		s.armPoolIdleLocked()
	}
	return taken
}

// poolWantLocked is how many entries the pool keeps now.
func (s *Service) poolWantLocked() int { return s.cfg.NetnsPool + s.pool.grown }

// armPoolIdleLocked (re)starts the wait after which a grown pool returns
// to its configured size.
func (s *Service) armPoolIdleLocked() {
	p := &s.pool
	if p.idle == nil {
		p.idle = time.AfterFunc(poolIdle, s.shrinkPool)
		return
	}
	p.idle.Reset(poolIdle)
}

// shrinkPool returns the pool to Config.NetnsPool entries, removing the
// others (in the background, tracked by s.bg).
func (s *Service) shrinkPool() {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grown = 0
	if p.closed || len(p.entries) <= s.cfg.NetnsPool {
		return
	}
	extra := slices.Clone(p.entries[s.cfg.NetnsPool:])
	p.entries = p.entries[:s.cfg.NetnsPool]
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for _, e := range extra {
			e.destroy()
		}
	}()
}

// poolRefillDelay is how long after a start the pool is topped up: a
// short-lived container has exited and its client has the reply by then
// (berthd's thread making a namespace, a bind mount and a setns, held
// the report of that exit up by up to a millisecond), and the next start
// takes what is left in the pool (it grows for bursts, see takePooled).
const poolRefillDelay = 10 * time.Millisecond

// RefillPool tops the pool of prepared namespaces up in the background,
// poolRefillDelay later (one refill for the starts meanwhile). Callers run
// it once what took an entry is done (a start's reply), so the refill
// does not compete with the runtime for the CPU.
func (s *Service) RefillPool() {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refillArmed || p.closed {
		return
	}
	p.refillArmed = true
	p.refill = time.AfterFunc(poolRefillDelay, func() {
		p.mu.Lock()
		p.refillArmed = false
		p.mu.Unlock()
		s.refillPool()
	})
}

// refillPool tops the pool up to Config.NetnsPool entries in the
// background, unless that is already under way or the pool is closed.
func (s *Service) refillPool() {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.cfg.NetnsPool <= 0 || p.filling || p.closed || len(p.entries) >= s.poolWantLocked() {
		return
	}
	p.filling = true
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for s.addPooled() {
		}
	}()
}

// addPooled makes one entry if the pool wants one; false once it is
// full, closed, or making one failed.
func (s *Service) addPooled() bool {
	p := &s.pool
	p.mu.Lock()
	if p.closed || len(p.entries) >= s.poolWantLocked() {
		p.filling = false
		p.mu.Unlock()
		return false
	}
	p.mu.Unlock()
	e, err := s.makePooled(s.cfg.MTU)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || p.closed {
		p.filling = false
		if err != nil {
			s.log.Warn("preparing a network namespace for the pool", "err", err)
		} else {
			e.destroy()
		}
		return false
	}
	p.entries = append(p.entries, e)
	return true
}

// makePooled prepares one namespace with its veth pair.
func (s *Service) makePooled(mtu int) (pooledNS, error) {
	b := make([]byte, 8)
	rand.Read(b)
	e := pooledNS{path: filepath.Join(s.netns, poolPrefix+hex.EncodeToString(b)), veth: vethName(), mtu: mtu}
	err := inNetNS(e.path, true, func(host netns.NsHandle) error {
		return withHandle(func(h *netlink.Handle) error {
			if err := prepareNetNS(h); err != nil {
				return err
			}
			var err error
			e.ifIndex, err = addVeth(h, host, poolIfName, e.veth, mtu, nil)
			return err
		})
	})
	if err != nil {
		return pooledNS{}, err
	}
	// As attachHostSide would, before it is on a bridge: no IPv6 address
	// of its own (best effort, refused where IPv6 is off).
	if l, err := netlink.LinkByName(e.veth); err == nil {
		_ = netlink.LinkSetIP6AddrGenMode(l, addrGenModeNone)
	}
	return e, nil
}

// adopt mounts the pooled namespace at path, the container's. The
// entry's own mount is removed in the background (bg): an unmount may
// wait for an RCU grace period, milliseconds the start need not wait.
func (e *pooledNS) adopt(path string, bg *sync.WaitGroup) error {
	if e.path == path {
		return nil // reserved for this container: there already
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		e.destroy()
		return fmt.Errorf("create netns mount point %s: %w", path, err)
	}
	f.Close()
	if err := unix.Mount(e.path, path, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		e.destroy()
		return fmt.Errorf("bind mount network namespace at %s: %w", path, err)
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		removeNetNS(e.path) // left behind, the next Reconcile sweeps it
	}()
	return nil
}

// hostIndex returns the index of the entry's veth in the host's
// namespace, or false if it is gone: something on the host may delete it
// (a clean-up script removing every veth* it did not know of), and with
// it the namespace's end.
func (e *pooledNS) hostIndex() (int, bool) {
	l, err := netlink.LinkByName(e.veth)
	if err != nil {
		return 0, false
	}
	return l.Attrs().Index, true
}

// destroy removes an entry: its mount (the namespace goes with its last
// reference, taking both ends of the veth) and the host end, should
// something still hold the namespace.
func (e *pooledNS) destroy() error {
	return errors.Join(removeNetNS(e.path), deleteLink(e.veth))
}

// closePool stops refills (drainPool removes the entries); refills under
// way end before s.bg is done.
func (s *Service) closePool() {
	p := &s.pool
	p.mu.Lock()
	p.closed = true
	if p.idle != nil {
		p.idle.Stop()
	}
	if p.refill != nil {
		p.refill.Stop()
	}
	p.mu.Unlock()
}

// drainPool removes the entries and the reservations left once no refill
// runs (after closePool and s.bg's wait).
func (s *Service) drainPool() error {
	p := &s.pool
	p.mu.Lock()
	entries := p.entries
	for _, e := range p.reserved {
		entries = append(entries, *e)
	}
	p.entries, p.reserved = nil, nil
	p.mu.Unlock()
	var errs []error
	for _, e := range entries {
		errs = append(errs, e.destroy())
	}
	return errors.Join(errs...)
}
