package containers

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/berth-dev/berth/internal/testgate"
	"github.com/berth-dev/berth/internal/trash"
	evtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
)

// RemoveOptions for Remove.
type RemoveOptions struct {
	Force         bool // kill a running container first
	RemoveVolumes bool // also remove anonymous volumes
	// auto: the auto-remove of a --rm container, whose clients are told
	// the container is gone before its removal is committed (see
	// deleteContainer).
	auto bool
}

// Remove deletes a container: its process (with Force), writable layer,
// files and record.
func (s *Service) Remove(ctx context.Context, ref string, o RemoveOptions) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	e.mu.Lock()
	if removed := e.awaitRemoval(); removed {
		return nil
	}
	if e.c.State.Status == StatusRestarting {
		if !o.Force {
			e.mu.Unlock()
			return errdefs.Conflict("You cannot remove a restarting container %s. Stop the container before attempting removal or force remove", e.c.ID)
		}
		s.cancelRestart(e)
	}
	if e.c.State.Running() {
		if !o.Force {
			e.mu.Unlock()
			return errdefs.Conflict("You cannot remove a running container %s. Stop the container before attempting removal or force remove", e.c.ID)
		}
		e.c.State.StoppedByUser = true
		e.killToRemove = true
		e.mu.Unlock()
		if err := s.stop(ctx, e, unix.SIGKILL, 0); err != nil {
			e.mu.Lock()
			e.killToRemove = false
			e.mu.Unlock()
			return err
		}
		e.mu.Lock()
		// Killing a --rm container starts its auto-remove: let that one
		// do the work, as Docker does, and succeed with it.
		if removed := e.awaitRemoval(); removed {
			return nil
		}
		if e.c.State.Running() {
			e.killToRemove = false
			e.mu.Unlock()
			return errdefs.Conflict("container %s was restarted while being removed", e.c.ID[:12])
		}
	}
	s.discardPrep(e)
	e.c.State.Status = StatusRemoving
	c := e.c
	for _, a := range e.pendingAttach {
		a.end()
	}
	e.pendingAttach = nil
	e.mu.Unlock()

	if err := s.deleteContainer(ctx, e, c, o); err != nil {
		return err
	}
	s.emit(&c, evtypes.ActionDestroy, nil)
	return nil
}

// deleteContainer removes a container marked Removing from the host and
// the indexes: its writable layer, state and folder, its record, and with
// o.RemoveVolumes its anonymous volumes. A failure leaves it Dead, so that
// another removal can try again.
//
// An auto-remove (o.auto) leaves the indexes first: the client waiting for
// the removal (`run --rm`'s wait) is answered without waiting for the
// commit's disk flushes, as Docker answers it without syncing anything.
// Nobody takes its error, so should the commit fail the container stays
// gone all the same, its record and layer left for the next start (an
// exited --rm container's record is removed by reconcile), as after a crash
// before the commit.
func (s *Service) deleteContainer(ctx context.Context, e *entry, c Container, o RemoveOptions) error {
	// What goes to the bin is deleted after the commit below (see
	// trash.Bin.Hold). The monitor stopped writing the folder (the log)
	// before it reported the exit.
	releaseData := s.dataBin.Hold()
	defer releaseData()
	if o.auto {
		s.forget(ctx, e, c, o.RemoveVolumes)
		// The waiter just woken runs next on this goroutine's processor,
		// which the folder's move and the commit's flush would hold until
		// the Go runtime hands it over: let the reply go out first.
		runtime.Gosched()
	}
	discard(s.dataBin, c.Dir)
	finishRootfs, err := s.commitRemoval(ctx, e, c)
	if err != nil {
		if !o.auto {
			e.mu.Lock()
			e.c.State.Status = StatusDead
			e.c.State.Error = err.Error()
			s.persist(e)
			e.notify() // a removal waiting on this one tries again
			e.mu.Unlock()
		}
		return errdefs.Internal(err)
	}
	if !o.auto {
		s.forget(ctx, e, c, o.RemoveVolumes)
	}
	// After the reply: the writable layer (a --rm container's is still
	// mounted, see onExit), and the state directory once the monitor of
	// the last run has finished deleting the runtime's state (for a --rm
	// container it is still at it when the exit is reported). Nothing
	// waits for them: the container is gone from every list, its name is
	// free, and a crash before this is over leaves a layer and a state
	// directory without a record, which the next start removes (the image
	// service's cleanup, sweepStateDirs).
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		testgate.Wait(c.Name, "rootfs")
		finishRootfs()
		s.removeStateDir(ctx, c.ID)
	}()
	return nil
}

// commitRemoval commits the deletion of the container's record with its
// layer's and its last run's sandbox record (endRun); finish then removes
// the layer.
func (s *Service) commitRemoval(ctx context.Context, e *entry, c Container) (finish func(), err error) {
	e.mu.Lock()
	netOp := e.netRecordOp
	e.mu.Unlock()
	finish, err = s.images.ForgetRootfs(ctx, c.ID, store.All(store.DeleteOp(bucket, c.ID), netOp))
	if err == nil {
		e.mu.Lock()
		e.netRecordOp = nil
		e.mu.Unlock()
	}
	return finish, err
}

// forget takes a container being removed out of the indexes (its name is
// free from then on), removes its anonymous volumes with removeVolumes,
// and tells those waiting for its removal.
func (s *Service) forget(ctx context.Context, e *entry, c Container, removeVolumes bool) {
	e.mu.Lock()
	for id := range e.execs {
		execIndex.Delete(id)
	}
	e.mu.Unlock()
	s.mu.Lock()
	delete(s.byID, c.ID)
	s.order.Store(nil)
	if s.byName[c.Name] == c.ID {
		delete(s.byName, c.Name)
	}
	s.mu.Unlock()
	afterRemovals.kick()
	if removeVolumes {
		// Only anonymous volumes go with the container, never named ones.
		if err := mounts.RemoveAnonymous(ctx, s.vols, c.MountPoints); err != nil {
			s.log.Warn("remove anonymous volumes", "id", c.ID, "err", err)
		}
	}
	e.mu.Lock()
	close(e.removed)
	e.notify()
	e.mu.Unlock()
}

// removeStateDir removes a container's state directory once the monitor
// of its last run has deleted the runtime's state (it reports the exit
// first, see monitor.LockFile): nothing of the container stays in the
// runtime after its removal.
func (s *Service) removeStateDir(ctx context.Context, id string) {
	dir := s.stateDir(id)
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	release, err := monitor.Hold(hctx, dir)
	if err != nil {
		s.log.Warn("container removed while its monitor still deletes its runtime state", "id", id, "err", err)
		release = func() {}
	}
	discard(s.execBin, dir)
	release()
}

// sweepStateDirs discards the state directories of containers without a
// record: a removal moves its container's away after its commit (see
// deleteContainer), so a crash in between leaves one.
func (s *Service) sweepStateDirs() {
	s.sweepOrphans(filepath.Join(s.cfg.ExecRoot, "containers"), s.execBin, "the state directory of a removed container", func(string) bool { return true })
}

// sweepDataDirs discards the folders (log, host files) of containers
// without a record: a create makes its container's folder before it
// commits the record (see materialize), so a crash in between leaves one.
// Only names that are whole container IDs are touched.
func (s *Service) sweepDataDirs() {
	s.sweepOrphans(filepath.Join(s.cfg.DataRoot, "containers"), s.dataBin, "the folder of a container never created", stringid.IsFull)
}

// sweepOrphans discards the entries of dir that no container record has
// and that match. Reconcile calls it before the API serves: no create is
// under way, and one that made its folder but not its record was cut short.
func (s *Service) sweepOrphans(dir string, bin *trash.Bin, what string, match func(name string) bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	s.mu.RLock()
	var orphans []string
	for _, de := range ents {
		if _, ok := s.byID[de.Name()]; !ok && match(de.Name()) {
			orphans = append(orphans, de.Name())
		}
	}
	s.mu.RUnlock()
	for _, id := range orphans {
		s.log.Info("removing "+what, "id", id)
		discard(bin, filepath.Join(dir, id))
	}
}

// discard takes dir away from its place at once and has it deleted in the
// background: on this path, unlinking each of a container's files that
// holds data waits for the disk (the file system's discard, the journal),
// and a big log takes as long as its size. Docker's rm deletes the folder
// itself and syncs nothing either; a crash before the deletion leaves the
// entry in the bin, and the next start deletes it.
func discard(b *trash.Bin, dir string) {
	if err := b.Put(dir); err != nil {
		os.RemoveAll(dir)
	}
}

// awaitRemoval waits while another removal of e (a second client's, or the
// auto-remove of a --rm container) is in progress. It reports true, with
// e.mu released, once that removal deleted the container; false, with e.mu
// still held, when there is none or it failed (the container is then Dead,
// and removing it again is the caller's to try). Caller holds e.mu.
func (e *entry) awaitRemoval() (removed bool) {
	for e.c.State.Status == StatusRemoving {
		changed, gone := e.changed, e.removed
		e.mu.Unlock()
		select {
		case <-gone:
			return true
		case <-changed:
		}
		e.mu.Lock()
	}
	return false
}
