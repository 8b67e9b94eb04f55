package containers

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"time"

	netpkg "github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
)

// Start ahead: as create replies, berthd prepares the container in
// the background as far as it goes without running the user's program
// (root filesystem and volumes mounted, a network namespace reserved,
// host files and spec written, monitor spawned, runtime container
// created: its init waits on the exec fifo). The start then only wires
// the network into that namespace (addresses, ports and DNS are taken at
// the start, as always), joins the waiting attach sessions and has the
// monitor release the process; a start that comes while the runtime's
// create still runs does all that beside it and has the monitor release
// the process as the create succeeds (releaseEarly), with the attach
// sessions handed over along. The monitor itself is launched while
// create commits the record (launchAtCreate): its exec overlaps the disk.
//
// A prepared container still is just "created" to every client: no pid,
// no event, no address, nothing in `network inspect`. Whatever would
// change what the start builds (rm, update, rename, network connect or
// disconnect, cp, commit, export) discards the preparation first, as
// does a clean shutdown; after a crash, Reconcile's abandonStart removes
// it like any start cut short. Preparing holds the container's lock; a
// start that comes meanwhile wires the network beside it and takes the
// lock over as it ends, and attach and wait do not wait for it (see
// aheadlock.go).
//
// Only for containers of the crun or runc runtime with a network
// namespace from the netns pool (one IPv4 bridge network) or the host's,
// without legacy links (their addresses are taken at the start) and not
// in a CRI pod; at most maxPrepared at once.

// maxPrepared bounds the containers prepared (or being prepared) at once:
// each holds a monitor, a runtime init, mounts and a namespace.
const maxPrepared = 4

// errNotAhead: the container cannot be prepared ahead; it starts as usual.
var errNotAhead = errors.New("not prepared ahead")

// preparation is a start made ahead, up to the runtime's create.
type preparation struct {
	rt   *runtime.Runtime
	run  *containerRun
	undo undoStack
	// pidfd is the runtime init's, to end it when the preparation is
	// discarded (-1: none; the runtime's delete then does it).
	pidfd int
	// released: the monitor started the process as the runtime created
	// it, on the claiming start's request early (with its sessions).
	released bool
	early    *earlyRelease
}

// PrepareAhead prepares the created container id for its start in the
// background, if a slot is free (or was taken with its monitor's launch
// at create) and the container qualifies. The API calls it as create's
// reply is sent.
func (s *Service) PrepareAhead(id string) {
	e, err := s.lookup(id)
	if err != nil {
		return // removed meanwhile: the removal dropped its monitor
	}
	if s.ctx.Err() != nil {
		s.discardPrepOf(e)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		e.mu.Lock()
		early := e.takeEarly()
		if early == nil && !s.takeSlot() {
			e.mu.Unlock()
			return
		}
		if !s.preparable(e) {
			s.abortEarly(e.c.ID, early)
			s.releaseSlot()
			e.mu.Unlock()
			return
		}
		// A start, attach or wait meanwhile need not queue on e.mu.
		st := e.beginAhead()
		defer e.endAhead(st)
		// Not cut short by a shutdown: a runtime create interrupted
		// midway could leave its init behind; Close discards it after.
		p, err := s.prepare(context.Background(), e, early)
		if err != nil {
			if !errors.Is(err, errNotAhead) {
				s.log.Debug("start not prepared ahead", "id", e.c.ID, "err", err)
			}
			s.releaseSlot()
			return
		}
		e.prep = p
	}()
}

// takeSlot takes one of the maxPrepared slots, if one is free.
func (s *Service) takeSlot() bool {
	select {
	case s.ahead <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) releaseSlot() { <-s.ahead }

// preparable reports whether e can be prepared now. Caller holds e.mu.
func (s *Service) preparable(e *entry) bool {
	select {
	case <-e.removed:
		return false
	default:
	}
	return e.prep == nil && e.c.State.Status == StatusCreated && s.preparableRecord(&e.c)
}

// preparableRecord reports whether a container of record c can be
// prepared ahead (its runtime, network mode, links and pod allow it).
func (s *Service) preparableRecord(c *Container) bool {
	mode := string(c.HostConfig.NetworkMode)
	switch {
	case s.ctx.Err() != nil, c.Pod != nil, len(c.HostConfig.Links) > 0, s.runtimes.IsSandbox(c.Runtime),
		mode == "none", isContainerMode(mode):
		return false
	}
	rt, err := s.runtimeOf(c)
	if err != nil {
		return false
	}
	_, isCLI := rt.Runtime.(*oci.CLI)
	return isCLI
}

// earlyMonitor is a container's monitor launched (launchEarly) while the
// container is created, before its record's commit, for the preparation
// ahead that follows create's reply: the monitor's exec and start-up
// overlap create's disk syncs instead of the preparation. Should berthd
// die before the commit, the monitor exits (its go pipe reads end of
// file) and Reconcile removes the state directory, which has no record.
type earlyMonitor struct {
	stateDir string
	mon      result[*monitor.Launched]
}

// launchAtCreate launches the monitor of c, being created, if it could
// be prepared ahead and a slot is free (nil otherwise). The result holds
// the slot.
func (s *Service) launchAtCreate(c *Container) *earlyMonitor {
	if !s.preparableRecord(c) || !s.takeSlot() {
		return nil
	}
	stateDir, mon, err := s.launchEarly(c)
	if err != nil {
		s.releaseSlot()
		return nil
	}
	prepGate(c.Name, "launched")
	return &earlyMonitor{stateDir: stateDir, mon: mon}
}

// launchedOr is the monitor launched at create, if any (launched), else
// one launched now (launchEarly).
func (s *Service) launchedOr(c *Container, launched *earlyMonitor) (string, result[*monitor.Launched], error) {
	if launched != nil {
		return launched.stateDir, launched.mon, nil
	}
	return s.launchEarly(c)
}

// takeEarly takes e's monitor launched at create (nil: none) and the slot
// it holds. Caller holds e.mu.
func (e *entry) takeEarly() *earlyMonitor {
	early := e.early
	e.early = nil
	return early
}

// abortEarly ends the monitor launched at create for container id and
// empties its state directory, but keeps its slot. Nil: nothing to do.
func (s *Service) abortEarly(id string, early *earlyMonitor) {
	if early == nil {
		return
	}
	early.mon.wait().Abort()
	s.clearStateDir(id)
}

// dropEarly is abortEarly that gives the slot back too.
func (s *Service) dropEarly(id string, early *earlyMonitor) {
	if early != nil {
		s.abortEarly(id, early)
		s.releaseSlot()
	}
}

func isContainerMode(mode string) bool { return strings.HasPrefix(mode, "container:") }

// prepare does the start's work up to the runtime's create, with the
// monitor launched at create if any (launched). On error nothing is left
// but the slot. Caller holds e.mu.
//
// The steps that do not need each other run at once: the monitor is
// launched (its exec and start-up, a few milliseconds on this path) and
// the network namespace reserved while the root filesystem is mounted and
// the host files and spec are written; the monitor goes on once the
// bundle and the namespace are in place.
func (s *Service) prepare(ctx context.Context, e *entry, launched *earlyMonitor) (*preparation, error) {
	c := &e.c
	rt, err := s.runtimeOf(c)
	if err != nil {
		s.abortEarly(c.ID, launched)
		return nil, err
	}
	stateDir, early, err := s.launchedOr(c, launched)
	if err != nil {
		return nil, err
	}
	p := &preparation{rt: rt, pidfd: -1}
	ns := s.reserveNetNSAsync(c)
	run, err := s.prepareFS(ctx, c, &p.undo)
	if err == nil {
		err = writeHostFiles(c, nil, s.hostGateway())
	}
	netnsPath, nerr := ns.wait().into(&p.undo)
	if nerr == nil {
		nerr = s.aheadReserved(e)
	}
	mon := early.wait()
	if err == nil {
		err = nerr
	}
	if err == nil {
		run.netnsPath, run.stateDir, run.early = netnsPath, stateDir, mon
		err = s.writeBundle(c, rt, run)
	}
	if err == nil && (run.seccompKey == "" || run.precompiled) {
		// The filter the runtime compiles for the first container of a
		// profile is kept before its process starts (saveFilter): no
		// early release for that one.
		e.aheadMonitor(mon)
	}
	if err == nil {
		_, err = s.spawnMonitor(ctx, c, rt, run, false, nil)
	}
	if err != nil {
		mon.Abort()
		p.undo.run()
		return nil, err
	}
	p.run = run
	p.released = mon != nil && mon.Released()
	if run.seccompKey != "" && !run.precompiled {
		s.saveFilter(c, rt, run)
	}
	if fd, err := unix.PidfdOpen(run.pid, 0); err == nil {
		p.pidfd = fd
	}
	return p, nil
}

// launchEarly empties c's state directory of an earlier run's leftovers
// and launches c's monitor there in the background (see monitor.Launch):
// its exec and start-up overlap the rest of the start's preparation.
// Where that cannot be, the result is nil and the monitor is started
// later as for any start.
func (s *Service) launchEarly(c *Container) (string, result[*monitor.Launched], error) {
	stateDir, err := s.freshStateDir(c.ID)
	if err != nil {
		return "", nil, err
	}
	driver := c.HostConfig.LogConfig.Type
	return stateDir, async(func() *monitor.Launched {
		l, err := monitor.Launch(s.cfg.MonitorPath, stateDir, driver)
		if err != nil {
			s.log.Debug("monitor not launched ahead", "id", c.ID, "err", err)
		}
		return l
	}), nil
}

// netNSResult is a network namespace reserved: its path ("" for the
// host's) and the undo of the reservation.
type netNSResult struct {
	path string
	undo undoStack
	err  error
}

// reserveNetNSAsync reserves c's network namespace (reserveNetNS) in the
// background; nil (no reservation) for the host's.
func (s *Service) reserveNetNSAsync(c *Container) result[netNSResult] {
	if s.net == nil || c.HostConfig.NetworkMode == "host" {
		return nil
	}
	id, req := c.ID, s.connectRequest(c)
	return async(func() netNSResult {
		var r netNSResult
		r.path, r.err = s.reserveNetNS(id, req, &r.undo)
		return r
	})
}

// into returns the namespace's path, its undo pushed on undo.
func (r netNSResult) into(undo *undoStack) (string, error) {
	*undo = append(*undo, r.undo...)
	return r.path, r.err
}

// reserveNetNS takes the network namespace container id will be
// connected in at its start, for the connection req.
func (s *Service) reserveNetNS(id string, req netpkg.ConnectRequest, undo *undoStack) (string, error) {
	path, ok, err := s.net.ReserveNetNS(req)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errNotAhead
	}
	undo.push(func() { s.net.ReleaseNetNS(id) })
	return path, nil
}

// startAhead releases e's prepared container: network wired, host files
// rewritten, attach sessions joined, process started. It returns nil, nil
// when e has no preparation, or one that no longer fits (discarded: the
// caller starts afresh and reports that start's own errors). Caller
// holds e.mu.
func (s *Service) startAhead(ctx context.Context, e *entry) (*containerRun, error) {
	p := e.prep
	if p == nil {
		return nil, nil
	}
	e.prep = nil
	defer s.releaseSlot()
	c := &e.c
	if p.released {
		return s.startReleased(e, p), nil
	}
	if !p.initWaiting() {
		// Killed meanwhile (OOM, a stray signal): its process never ran,
		// so starting afresh is the start the user asked for.
		s.dropPrep(c, p)
		return nil, nil
	}
	att, record, err := s.connectAsync(ctx, c).wait().get()
	p.run.netRecord = record
	if att != nil {
		p.undo.push(func() { s.net.Disconnect(context.Background(), c.ID) })
		if att.NetNSPath != p.run.netnsPath || !inNetNS(p.run.pid, att.NetNSPath) {
			// A namespace made anew (its pooled veth was deleted on the
			// host) is not the one the runtime's init joined.
			err = errNotAhead
		}
	}
	if err == nil {
		err = rewriteNetFiles(c, att, s.hostGateway())
	}
	var conns []*net.UnixConn
	if err == nil {
		conns, err = attachCreated(ctx, e.pendingAttach, p.run.stateDir)
	}
	if err != nil {
		s.log.Debug("start prepared ahead discarded", "id", c.ID, "err", err)
		s.dropPrep(c, p)
		return nil, nil
	}
	for i, a := range e.pendingAttach {
		a.join(p.run.stateDir, conns[i])
	}
	e.pendingAttach = nil
	p.closePidfd()
	if err := s.releaseCreated(ctx, c, p.run); err != nil {
		p.undo.run()
		return nil, err
	}
	return p.run, nil
}

// earlyRelease is a claiming start's request that the preparation's
// monitor start the process as soon as the runtime created it
// (monitor.Launched.Release), with the sessions waiting then handed over.
// The rest of the start (network wired, host files rewritten) is done by
// then; berthd then only records what happened (startReleased).
type earlyRelease struct {
	req      monitor.ReleaseRequest
	sessions []*attachSession
	conns    []*net.UnixConn // the sessions' connections, once sent
}

// releaseEarly asks for e's early release, the network wired (att, nil
// with none of its own) beside the preparation st, and returns the
// request (nil: none, the start releases the container as usual).
func (s *Service) releaseEarly(e *entry, st *aheadState, att *netpkg.Attachment) *earlyRelease {
	select {
	case <-st.done:
		return nil // over already: the usual release is as quick
	default:
	}
	if rewriteNetFiles(&e.c, att, s.hostGateway()) != nil {
		return nil // the start says why
	}
	rel := &earlyRelease{}
	if att != nil {
		// The monitor checks the init joined it, as startAhead does.
		rel.req.NetNS = att.NetNSPath
	}
	var mon *monitor.Launched
	if !e.duringPrep(func(st *aheadState) {
		rel.sessions = slices.Clone(st.attach)
		for _, a := range rel.sessions {
			rel.req.Attach = append(rel.req.Attach, a.monitorOptions())
		}
		st.rel, mon = rel, st.mon
	}) {
		return nil
	}
	prepGate(e.c.Name, "requested")
	if mon != nil {
		rel.send(mon)
	}
	return rel
}

// send sends the request to the preparation's monitor.
func (r *earlyRelease) send(mon *monitor.Launched) {
	if conns, err := mon.Release(r.req); err == nil {
		r.conns = conns
	}
}

// close closes the connections of a request not served (nil: none).
func (r *earlyRelease) close() {
	if r != nil {
		closeConns(r.conns)
		r.conns = nil
	}
}

// keepEarly keeps the start's early release with the preparation it
// claimed, or closes it if not served. Caller holds e.mu.
func (e *entry) keepEarly(rel *earlyRelease) {
	if e.prep != nil && e.prep.released {
		e.prep.early = rel
		return
	}
	rel.close()
}

// startReleased finishes the start of e's prepared container whose
// monitor started the process on the early release: the sessions handed
// over with it are joined, any registered since attach now. Caller holds
// e.mu.
func (s *Service) startReleased(e *entry, p *preparation) *containerRun {
	p.closePidfd()
	if rel := p.early; rel != nil {
		for i, a := range rel.sessions {
			var waiting bool
			if e.pendingAttach, waiting = dropSession(e.pendingAttach, a); waiting {
				a.join(p.run.stateDir, rel.conns[i])
			} else {
				rel.conns[i].Close() // cancelled meanwhile
			}
		}
	}
	for _, a := range e.pendingAttach {
		a.connect(p.run.stateDir)
	}
	e.pendingAttach = nil
	prepGate(e.c.Name, "released")
	return p.run
}

// attachCreated connects the sessions waiting for the start to the
// created container's monitor: the process has not run yet, so they miss
// nothing. On error no connection is left open.
func attachCreated(ctx context.Context, pending []*attachSession, stateDir string) ([]*net.UnixConn, error) {
	conns := make([]*net.UnixConn, 0, len(pending))
	for _, a := range pending {
		conn, err := monitor.Attach(ctx, stateDir, a.monitorOptions())
		if err != nil {
			closeConns(conns)
			return nil, err
		}
		conns = append(conns, conn)
	}
	return conns, nil
}

func closeConns(cs []*net.UnixConn) {
	for _, c := range cs {
		c.Close()
	}
}

// discardPrep discards e's preparation, if any, so that the next start
// builds everything afresh. Caller holds e.mu.
func (s *Service) discardPrep(e *entry) {
	s.dropEarly(e.c.ID, e.takeEarly())
	if p := e.prep; p != nil {
		e.prep = nil
		s.dropPrep(&e.c, p)
		s.releaseSlot()
	}
}

// discardPrepOf is discardPrep taking e's lock.
func (s *Service) discardPrepOf(e *entry) {
	e.mu.Lock()
	s.discardPrep(e)
	e.mu.Unlock()
}

// discardAllPrepared discards every preparation (berthd's clean stop).
func (s *Service) discardAllPrepared() {
	for _, e := range s.all() {
		s.discardPrepOf(e)
	}
}

// dropPrep ends a prepared runtime container, waits for its monitor to
// finish, and undoes the rest.
func (s *Service) dropPrep(c *Container, p *preparation) {
	killed := p.pidfd >= 0 && unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0) == nil
	p.closePidfd()
	p.early.close()
	if !killed {
		p.rt.Delete(context.Background(), c.ID, &oci.DeleteOpts{Force: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if _, err := monitor.Wait(ctx, p.run.stateDir); err != nil && !errors.Is(err, monitor.ErrNoMonitor) {
		s.log.Warn("monitor of a discarded preparation", "id", c.ID, "err", err)
	}
	cancel()
	s.cleanRuntime(c)
	p.undo.run()
	s.clearStateDir(c.ID)
}

// initWaiting reports whether the runtime's init still waits to be
// started (true when that cannot be told: the start then says).
func (p *preparation) initWaiting() bool {
	if p.pidfd < 0 {
		return true
	}
	fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err != nil || n == 0 // a pidfd polls readable once the process ended
}

func (p *preparation) closePidfd() {
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
}
