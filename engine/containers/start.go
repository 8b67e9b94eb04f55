package containers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	netpkg "github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/monitor"
	evtypes "github.com/moby/moby/api/types/events"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Start runs a created or stopped container: mounts its root filesystem,
// writes its OCI spec, starts its monitor (which does `runtime create`),
// connects the attach sessions waiting for this start, and then lets the
// user process run (`runtime start`), so no output is lost to them.
func (s *Service) Start(ctx context.Context, ref string) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	// The start must complete even if the client goes away mid-way.
	ctx = context.WithoutCancel(ctx)
	wired, record := s.lockForStart(ctx, e)
	e.addNetRecord(record)
	switch e.c.State.Status {
	case StatusRunning, StatusRestarting:
		e.mu.Unlock()
		return errdefs.NotModified("container already started")
	case StatusPaused:
		e.mu.Unlock()
		return errdefs.Conflict("cannot start a paused container, try unpause instead")
	case StatusRemoving, StatusDead:
		e.mu.Unlock()
		return errdefs.Conflict("container is marked for removal and cannot be started")
	}
	err = s.startLocked(ctx, e)
	if s.net != nil {
		s.net.RefillPool()
	}
	if err == nil {
		e.mu.Unlock()
		return nil
	}
	if wired {
		// Wired beside the preparation; the failed start may not have
		// taken it over to undo.
		s.net.Disconnect(ctx, e.c.ID)
	}
	e.c.State.Error = err.Error()
	e.c.State.ExitCode = exitCodeOf(err)
	s.persist(e)
	// Clients attached for this start (docker run) must not hang.
	for _, a := range e.pendingAttach {
		a.end()
	}
	e.pendingAttach = nil
	e.notify()
	autoRemove, id := e.c.HostConfig.AutoRemove, e.c.ID
	e.mu.Unlock()
	if autoRemove {
		// As Docker does: a --rm container that cannot start is removed,
		// which also ends the client's wait for "removed".
		if rerr := s.Remove(ctx, id, RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil {
			s.log.Warn("auto-remove after failed start", "id", id, "err", rerr)
		}
	}
	return err
}

// exitCodeOf is the exit code Docker records for a start failure: 127 for
// a missing command, 126 for one that cannot be executed, 128 otherwise.
func exitCodeOf(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		return 127
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "is a directory") || strings.Contains(msg, "exec format error"):
		return 126
	}
	return 128
}

func (s *Service) startLocked(ctx context.Context, e *entry) error {
	c := &e.c
	// A container prepared ahead (startahead.go) is only released; one
	// whose preparation no longer fits is started afresh.
	run, err := s.startAhead(ctx, e)
	if run == nil && err == nil {
		run, err = s.startAfresh(ctx, e)
	}
	if err != nil {
		return err
	}
	c.State = State{Status: StatusRunning, Pid: run.pid, MonitorPid: run.monitorPid, StartedAt: time.Now().UTC(), ExitCode: 0}
	e.exited = make(chan struct{})
	e.runs++
	// Waiting for the exit starts before the commit: a short-lived
	// process often exits during its disk flushes, and the monitor's
	// status then reaches a wait already connected (onExit takes e.mu,
	// held until this start is over).
	s.watch(e, e.exited)
	// The network's sandbox record goes in the same commit (a crash
	// before it leaves the container created, its network unrecorded:
	// Reconcile removes both run's leftovers).
	e.addNetRecord(run.netRecord)
	if err := s.persist(e); err != nil {
		s.log.Error("persist after start", "id", c.ID, "err", err)
	}
	e.notify()
	s.startHealthcheck(e, e.exited)
	s.emitVolumes(evtypes.ActionMount, c, c.MountPoints)
	s.emitAttached(evtypes.ActionConnect, c, s.attachedNetworks(c))
	s.emit(c, evtypes.ActionStart, nil)
	return nil
}

// startAfresh does the whole start: root filesystem, network, bundle,
// monitor, runtime.
func (s *Service) startAfresh(ctx context.Context, e *entry) (*containerRun, error) {
	c := &e.c
	rt, err := s.runtimeOf(c)
	if err != nil {
		return nil, errdefs.Invalid("%s", err.Error())
	}
	var undo undoStack
	stateDir, early, err := s.launchEarlyUnattached(e)
	var run *containerRun
	if err == nil {
		run, err = s.prepareRun(ctx, c, &undo)
	}
	mon := early.wait()
	if err == nil {
		run.stateDir, run.early = stateDir, mon
		err = s.writeBundle(c, rt, run)
	}
	if err == nil {
		err = s.launch(ctx, e, rt, run)
	}
	if err != nil {
		mon.Abort()
		undo.run()
		return nil, err
	}
	return run, nil
}

// launchEarlyUnattached is launchEarly for a start no attach session
// waits for (those are handed to the monitor at its launch); "" and no
// launch otherwise. A monitor launched at create and not yet taken by
// the preparation (a start by name right after create) serves.
func (s *Service) launchEarlyUnattached(e *entry) (string, result[*monitor.Launched], error) {
	launched := e.takeEarly()
	if launched != nil {
		s.releaseSlot()
	}
	if len(e.pendingAttach) > 0 {
		s.abortEarly(e.c.ID, launched)
		return "", nil, nil
	}
	return s.launchedOr(&e.c, launched)
}

// undoStack is what a failed start undoes, last step first.
type undoStack []func()

func (u *undoStack) push(f func()) { *u = append(*u, f) }

func (u undoStack) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// containerRun is what one start of a container gathers on its way.
type containerRun struct {
	rootfs      string
	user        specs.User
	extraMounts []specs.Mount
	links       []linkedContainer
	netnsPath   string
	// netRecord commits the sandbox record of the network connected for
	// this run, with the running state (startLocked).
	netRecord store.Op
	// Set by writeBundle:
	stateDir    string
	seccompKey  string
	precompiled bool
	execFifo    string   // the start without the runtime (runtime.ExecFifo)
	cgroups     []string // when the runtime's delete only removes these and its state
	// early is the monitor launched ahead of the bundle, if any
	// (spawnMonitor starts it; it is aborted if never started).
	early *monitor.Launched
	// Set by launch:
	pid, monitorPid int
}

// prepareRun mounts the container's root filesystem and volumes and
// attaches it to its networks, pushing each undo on undo. The network
// (namespace, veths, addresses, port rules: kernel work) is made while the
// root filesystem is mounted and the volumes prepared.
func (s *Service) prepareRun(ctx context.Context, c *Container, undo *undoStack) (*containerRun, error) {
	net := s.connectAsync(ctx, c)
	run, err := s.prepareFS(ctx, c, undo)
	att, record, nerr := net.wait().get()
	if att != nil {
		undo.push(func() { s.net.Disconnect(context.Background(), c.ID) })
	}
	if err == nil {
		err = nerr
	}
	if err != nil {
		return nil, err
	}
	run.netRecord = record
	if att != nil {
		run.netnsPath = att.NetNSPath
		att.HostsEntries = append(att.HostsEntries, linkHosts(run.links)...)
	}
	// Written again on every start, networked or not (so create need not
	// sync them).
	return run, writeHostFiles(c, att, s.hostGateway())
}

// prepareFS mounts the container's root filesystem and volumes and finds
// its user and links, pushing each undo on undo.
func (s *Service) prepareFS(ctx context.Context, c *Container, undo *undoStack) (*containerRun, error) {
	rootfs, err := s.images.MountRootfs(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	undo.push(func() { s.images.UnmountRootfs(context.Background(), c.ID) })
	run := &containerRun{rootfs: rootfs}
	if err := idmapRootfs(s.remapOf(c.HostConfig), rootfs); err != nil {
		return nil, err
	}
	if run.user, err = resolveUser(rootfs, c.Config.User, c.HostConfig.GroupAdd); err != nil {
		return nil, err
	}
	if run.extraMounts, err = mounts.Prepare(ctx, s.vols, rootfs, c.MountPoints); err != nil {
		return nil, err
	}
	undo.push(func() { mounts.Release(context.Background(), s.vols, c.MountPoints) })
	if run.links, err = s.legacyLinks(c); err != nil {
		return nil, err
	}
	return run, nil
}

// async runs f in the background; the result's wait gives what f
// returned.
func async[T any](f func() T) result[T] {
	r := make(result[T], 1)
	go func() { r <- f() }()
	return r
}

// result is a value made in the background by async; a nil result is
// one never started (nothing to make), whose wait gives T's zero value.
// Waited for once.
type result[T any] chan T

func (r result[T]) wait() T {
	if r == nil {
		var zero T
		return zero
	}
	return <-r
}

// connectResult is a network attachment made (att nil with no network
// of the container's own to join), and the commit of its sandbox record
// (network.ConnectDeferred), left to the start's commit.
type connectResult struct {
	att    *netpkg.Attachment
	record store.Op
	err    error
}

// get returns the attachment (nil with no network, or on error) and the
// commit of its record (nil: none to make).
func (r connectResult) get() (*netpkg.Attachment, store.Op, error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	return r.att, r.record, nil
}

// connectAsync attaches c to its networks in the background, unless it
// shares the host's network or its CRI pod's.
func (s *Service) connectAsync(ctx context.Context, c *Container) result[connectResult] {
	if s.net == nil || c.HostConfig.NetworkMode == "host" || (c.Pod != nil && c.Pod.Namespaces["network"] != "") {
		return nil
	}
	req := s.connectRequest(c)
	return async(func() connectResult {
		att, record, err := s.net.ConnectDeferred(ctx, req)
		return connectResult{att, record, err}
	})
}

// connectRequest is what connecting c to its networks asks for.
func (s *Service) connectRequest(c *Container) netpkg.ConnectRequest {
	return netpkg.ConnectRequest{
		ContainerID: c.ID, ContainerName: c.Name, Hostname: c.Config.Hostname,
		NetworkMode: string(c.HostConfig.NetworkMode), Endpoints: c.Endpoints,
		PortBindings: c.HostConfig.PortBindings, PublishAll: c.HostConfig.PublishAllPorts,
		ExposedPorts: c.Config.ExposedPorts, Sandboxed: s.runtimes.IsSandbox(c.Runtime),
	}
}

// writeBundle builds the container's OCI spec and writes it to its state
// directory, the bundle the runtime creates the container from.
func (s *Service) writeBundle(c *Container, rt *runtime.Runtime, run *containerRun) error {
	args := append([]string{c.Path}, c.Args...)
	initPath := ""
	if c.HostConfig.Init != nil && *c.HostConfig.Init {
		if s.cfg.InitPath == "" {
			return errdefs.Invalid("--init needs tini installed on the host (apt-get install tini)")
		}
		initPath = s.cfg.InitPath
		args = append([]string{"/sbin/docker-init", "--"}, args...)
	}
	remap := s.remapOf(c.HostConfig)
	if err := chownRemapped(remap, c, s.cfg.DataRoot, run.rootfs); err != nil {
		return err
	}
	hostnameFile, hostsFile, resolvFile := hostnamePath(c), hostsPath(c), resolvConfPath(c)
	var namespaces map[string]string
	if c.Pod != nil { // a CRI pod's files and namespaces
		namespaces = c.Pod.Namespaces
		hostnameFile, hostsFile, resolvFile = c.Pod.HostnamePath, c.Pod.HostsPath, c.Pod.ResolvConfPath
	}
	spec, err := runtime.BuildSpec(runtime.SpecOptions{
		ID: c.ID, Rootfs: run.rootfs, Config: c.Config, HostConfig: c.HostConfig,
		Args: args, Env: containerEnv(c, linkEnv(c.Name, run.links)...), User: run.user,
		HostnamePath: hostnameFile, HostsPath: hostsFile, ResolvConfPath: resolvFile, Namespaces: namespaces,
		InitPath: initPath, CgroupParent: s.cgroupParentOf(c),
		NetNSPath: run.netnsPath, ExtraMounts: run.extraMounts,
	})
	if err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	applyRemap(remap, spec)
	rt.TrimDeviceRules(spec)
	// A filter compiled for an earlier container with this profile spares
	// the runtime compiling it again (see runtime.SeccompKey).
	run.seccompKey = rt.SeccompKey(spec)
	run.precompiled = rt.UsePrecompiledSeccomp(spec, run.seccompKey)
	run.execFifo = rt.ExecFifo(c.ID, spec)
	if runtime.PlainDelete(spec) {
		run.cgroups = runtime.CgroupPathDirs(spec.Linux.CgroupsPath)
	}
	if run.stateDir == "" { // else made afresh by the caller already
		if run.stateDir, err = s.freshStateDir(c.ID); err != nil {
			return err
		}
	}
	return runtime.WriteSpec(run.stateDir, spec)
}

// freshStateDir empties the container's state directory of an earlier
// run's leftovers, making it if need be, and returns it. The last run's
// monitor may still be deleting that run's runtime state, holding the
// directory's lock (it reports the exit first): emptying the directory
// then would take the lock file with it, and the start's wait for that
// lock (spawnMonitor) would not wait, its runtime's create meeting the
// old delete half done (runsc: "container already exists").
func (s *Service) freshStateDir(id string) (string, error) {
	dir := s.stateDir(id)
	err := os.Mkdir(dir, 0o700) // a new container's first start: no more
	if errors.Is(err, fs.ErrExist) {
		release, herr := monitor.Hold(context.Background(), dir)
		if herr != nil {
			return "", herr
		}
		os.RemoveAll(dir)
		release()
		err = os.Mkdir(dir, 0o700)
	}
	if errors.Is(err, fs.ErrNotExist) {
		err = os.MkdirAll(dir, 0o700)
	}
	return dir, err
}

// launch has the container's monitor create and start it through the
// runtime. The attach sessions waiting for this start are handed to the
// monitor at launch, so they see all output with no round trip. The
// monitor starts the process itself, except for the first container of a
// seccomp profile: its compiled filter is kept first (see
// runtime.SeccompKey), then the monitor is asked to start it.
func (s *Service) launch(ctx context.Context, e *entry, rt *runtime.Runtime, run *containerRun) error {
	c := &e.c
	saveFilter := run.seccompKey != "" && !run.precompiled
	attach := make([]monitor.AttachOptions, len(e.pendingAttach))
	for i, a := range e.pendingAttach {
		attach[i] = a.monitorOptions()
	}
	conns, err := s.spawnMonitor(ctx, c, rt, run, !saveFilter, attach)
	if err != nil {
		return err
	}
	for i, a := range e.pendingAttach {
		a.join(run.stateDir, conns[i])
	}
	e.pendingAttach = nil
	if !saveFilter {
		return nil
	}
	s.saveFilter(c, rt, run)
	return s.releaseCreated(ctx, c, run)
}

// spawnMonitor starts the container's monitor, which has the runtime
// create the container (and start it too with start), with attach
// sessions joined from the first byte; it returns their connections.
func (s *Service) spawnMonitor(ctx context.Context, c *Container, rt *runtime.Runtime, run *containerRun, start bool, attach []monitor.AttachOptions) ([]*net.UnixConn, error) {
	logLim, logOpts, err := s.logSettings(c)
	if err != nil {
		return nil, err
	}
	// The previous run's monitor may still be deleting that run's runtime
	// state (it reports the exit first); a state left by a crash would
	// make create fail.
	release, err := monitor.Hold(ctx, run.stateDir)
	if err != nil {
		return nil, err
	}
	rt.Delete(ctx, c.ID, &oci.DeleteOpts{Force: true})
	release()
	exitState, exitCgroups := exitCleanup(rt, c.ID, run)
	var conns []*net.UnixConn
	cfg := monitor.Config{
		ID: c.ID, Runtime: rt.Binary(), RuntimeArgs: rt.GlobalArgs(), Bundle: run.stateDir, StateDir: run.stateDir,
		LogPath: c.LogPath, LogMaxSize: logLim.maxSize, LogMaxFiles: logLim.maxFiles,
		LogDriver: c.HostConfig.LogConfig.Type, LogCompress: logLim.compress, LogOpts: logOpts,
		Tty: c.Config.Tty, OpenStdin: c.Config.OpenStdin, StdinOnce: c.Config.StdinOnce,
		Start: start, Attach: attach,
		RuntimeState: exitState, Cgroups: exitCgroups, ExecFifo: run.execFifo,
		ExitNoSync: c.HostConfig.AutoRemove,
	}
	early := run.early
	run.early = nil
	if early != nil && len(attach) > 0 { // sessions are handed over at launch
		early.Abort()
		early = nil
	}
	if early != nil {
		run.pid, run.monitorPid, err = early.Start(ctx, cfg)
	} else {
		run.pid, run.monitorPid, conns, err = monitor.StartAttached(ctx, s.cfg.MonitorPath, cfg)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The monitor was killed mid-create: undo what the runtime made.
			if derr := rt.Delete(context.WithoutCancel(ctx), c.ID, &oci.DeleteOpts{Force: true}); derr != nil {
				s.log.Warn("runtime state left after a cancelled start", "id", c.ID, "err", derr)
			}
		}
		return nil, startError(err, c.Path)
	}
	return conns, nil
}

// saveFilter keeps the seccomp filter the runtime compiled for the first
// container of its profile (see runtime.SeccompKey).
func (s *Service) saveFilter(c *Container, rt *runtime.Runtime, run *containerRun) {
	if err := rt.SaveSeccomp(c.ID, run.seccompKey); err != nil {
		s.log.Debug("seccomp filter not cached", "id", c.ID, "err", err)
	}
}

// releaseCreated has the monitor start the created container's process.
func (s *Service) releaseCreated(ctx context.Context, c *Container, run *containerRun) error {
	if err := monitor.StartContainer(ctx, run.stateDir); err != nil {
		// The monitor deleted the container; it ends once the init has.
		monitor.Wait(ctx, run.stateDir)
		return startError(err, c.Path)
	}
	return nil
}

// exitCleanup is the runtime's state directory and the cgroups the
// monitor removes itself after the exit where that is all the runtime's
// delete would do (monitor.Config.RuntimeState); none leaves it to the
// runtime.
func exitCleanup(rt *runtime.Runtime, id string, run *containerRun) (string, []string) {
	state := rt.PlainState(id)
	if state == "" || run.cgroups == nil {
		return "", nil
	}
	return state, run.cgroups
}

// startError words a runtime failure as Docker does. crun and runc word
// exec failures differently; clients (the docker CLI among them) match on
// runc's lowercase Go wording to pick exit code 127 (not found) or 126
// (cannot execute), so both are normalised to it. User errors are 400s.
func startError(err error, path string) error {
	raw := err.Error()
	detail := execDetail(raw, path)
	msg := "failed to create task for container: OCI runtime create failed: unable to start container process: " + detail
	if detail != raw {
		return errdefs.Invalid("%s", msg)
	}
	return &plainError{msg}
}

// execDetail rewrites a runtime's exec failure in runc's wording
// (`exec: "x": executable file not found in $PATH`), or returns raw.
func execDetail(raw, path string) string {
	lower := strings.ToLower(raw)
	switch {
	case strings.Contains(lower, "not found in $path") || strings.Contains(lower, "executable file not found"):
		return fmt.Sprintf("exec: %q: executable file not found in $PATH", path)
	case strings.Contains(lower, "no such file or directory") && (strings.Contains(lower, "exec") || strings.Contains(lower, "open executable")):
		return fmt.Sprintf("exec: %q: no such file or directory", path)
	case (strings.Contains(lower, "permission denied") || strings.Contains(lower, "operation not permitted")) && (strings.Contains(lower, "exec") || strings.Contains(lower, "open executable")):
		return fmt.Sprintf("exec: %q: permission denied", path)
	case strings.Contains(lower, "is a directory"):
		return fmt.Sprintf("exec: %q: is a directory", path)
	case strings.Contains(lower, "exec format error"):
		return fmt.Sprintf("exec: %q: exec format error", path)
	}
	return raw
}

type plainError struct{ s string }

func (e *plainError) Error() string { return e.s }

// containerEnv is the process environment: PATH and HOSTNAME (TERM with a
// TTY), then the legacy links' variables, then Config.Env (which wins over
// a link variable of the same name), as Docker orders it.
func containerEnv(c *Container, linked ...string) []string {
	env := []string{}
	hasPath := false
	for _, kv := range c.Config.Env {
		if strings.HasPrefix(kv, "PATH=") {
			hasPath = true
		}
	}
	if !hasPath {
		env = append(env, defaultPath)
	}
	env = append(env, "HOSTNAME="+c.Config.Hostname)
	if c.Config.Tty {
		env = append(env, "TERM=xterm")
	}
	own := map[string]bool{}
	for _, kv := range c.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		own[k] = true
	}
	for _, kv := range linked {
		if k, _, _ := strings.Cut(kv, "="); !own[k] {
			env = append(env, kv)
		}
	}
	return append(env, c.Config.Env...)
}

// watch waits in the background for the current run to end.
func (s *Service) watch(e *entry, exited chan struct{}) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		stateDir := s.stateDir(e.c.ID)
		st, err := monitor.Wait(s.ctx, stateDir)
		if s.ctx.Err() != nil {
			return // berthd is shutting down; the next berthd re-adopts
		}
		if err != nil {
			s.log.Warn("container monitor gone without an exit status", "id", e.c.ID, "err", err)
			st = monitor.ExitStatus{ExitCode: 255, FinishedAt: time.Now().UTC()}
		}
		s.onExit(e, exited, st)
	}()
}

// cleanRuntime makes sure nothing of an exited run stays in the runtime
// (its state, its cgroup). The monitor deletes it after reporting the exit,
// holding the state directory's lock meanwhile (monitor.LockFile): while it
// does, there is nothing to do here (a second delete would only race it),
// and the next run's launch waits for the lock. Without a monitor at work
// (it died, or is older and deleted before reporting), clean here.
func (s *Service) cleanRuntime(c *Container) {
	release, ok := monitor.TryHold(s.stateDir(c.ID))
	if !ok {
		return
	}
	defer release()
	if rt, err := s.runtimeOf(c); err == nil {
		// The monitor's clean-up and crun's or runc's delete remove the
		// cgroups before the runtime's state directory: with that gone,
		// so are they, and looking costs a dozen path walks in cgroupfs.
		if cli, ok := rt.Runtime.(*oci.CLI); ok && !cli.HasState(c.ID) {
			return
		}
		rt.Delete(context.Background(), c.ID, &oci.DeleteOpts{Force: true})
	}
	if err := runtime.RemoveCgroup(s.cgroupParentOf(c), c.ID); err != nil {
		s.log.Warn("cgroup left behind", "id", c.ID, "err", err)
	}
}

// clearStateDir removes an exited run's state directory; while its monitor
// still deletes the runtime's state, everything but the lock it holds (the
// next run's launch waits on that lock, and removeContainer removes it).
func (s *Service) clearStateDir(id string) {
	dir := s.stateDir(id)
	if release, ok := monitor.TryHold(dir); ok {
		os.RemoveAll(dir)
		release()
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		if de.Name() != monitor.LockFile {
			os.RemoveAll(filepath.Join(dir, de.Name()))
		}
	}
}

// onExit records the end of a run and cleans up after it.
func (s *Service) onExit(e *entry, exited chan struct{}, st monitor.ExitStatus) {
	e.mu.Lock()
	if e.exited != exited {
		e.mu.Unlock()
		return // already handled
	}
	c := &e.c
	c.State.Status = StatusExited
	c.State.ExitCode = st.ExitCode
	c.State.OOMKilled = st.OOMKilled
	c.State.FinishedAt = st.FinishedAt
	if c.State.FinishedAt.IsZero() {
		c.State.FinishedAt = time.Now().UTC()
	}
	c.State.Pid, c.State.MonitorPid = 0, 0
	// A removal (rm -f's kill, --rm) removes the state directory itself;
	// the auto-remove of a --rm container also unmounts the root
	// filesystem, after its reply (deleteContainer).
	removing := e.killToRemove || c.HostConfig.AutoRemove
	autoRemoving := c.HostConfig.AutoRemove && !e.killToRemove
	nets := s.attachedNetworks(c)
	ended := s.endRun(e)
	s.cleanRuntime(c)
	mounts.Release(context.Background(), s.vols, c.MountPoints)
	end := <-ended
	e.netRecordOp = end.later
	s.emitAttached(evtypes.ActionDisconnect, c, nets)
	s.emitVolumes(evtypes.ActionUnmount, c, c.MountPoints)
	if end.err != nil {
		s.log.Error("persist exit", "id", c.ID, "err", end.err)
	}
	e.exited = nil
	e.ended++
	// notify publishes the row before stop and kill, which return once
	// exited is closed, can list: ps right after them shows the exit.
	e.notify()
	close(exited)
	if c.State.OOMKilled {
		s.emit(c, evtypes.ActionOOM, nil)
	}
	s.emit(c, evtypes.ActionDie, map[string]string{"exitCode": strconv.Itoa(c.State.ExitCode)})
	// After the exit is reported (stop, kill and wait return): whatever
	// mounts the root filesystem again (a start, cp, commit) or removes it
	// waits for e.mu, held until this is done.
	if !autoRemoving {
		s.unmountRootfs(c)
	}
	if !removing {
		s.clearStateDir(c.ID)
	}

	if shouldRestart(c) && s.ctx.Err() == nil {
		s.scheduleRestart(e)
	}
	autoRemove := c.HostConfig.AutoRemove
	id := c.ID
	e.mu.Unlock()
	if autoRemove {
		err := s.Remove(context.Background(), id, RemoveOptions{Force: true, RemoveVolumes: true, auto: true})
		if err != nil && !errdefs.IsNotFound(err) {
			if autoRemoving {
				s.unmountRootfs(c)
			}
			s.persistIfKnown(e)
			if !errdefs.IsConflict(err) {
				s.log.Warn("auto-remove", "id", id, "err", err)
			}
		}
	}
}

// unmountRootfs unmounts an ended run's root filesystem.
func (s *Service) unmountRootfs(c *Container) {
	if err := s.images.UnmountRootfs(context.Background(), c.ID); err != nil {
		s.log.Warn("unmount rootfs", "id", c.ID, "err", err)
	}
}

// runEnd is what endRun reports: the commit's error, and the deletion of
// the sandbox record left for the removal's commit.
type runEnd struct {
	err   error
	later store.Op
}

// endRun tears down the network of e's ended run and writes its exit, in
// the background beside the runtime's and the volumes' clean-up: the
// exit's commit also deletes the sandbox record
// (network.DisconnectDeferred, which frees the addresses and ports at
// once and leaves the namespace's unmount to the background), one commit
// instead of two.
// A crash before it is over leaves a record saying running whose
// leftovers (mount, cgroup, network sandbox) the next start sweeps
// (reconcileOne, network Reconcile). A --rm container's record is deleted
// right after, and so is that of a run rm -f killed (killToRemove): their
// exit is not written (the waiting client takes it from memory; it is
// written only if that removal fails, and after a crash in between the
// restarted berthd removes an exited --rm container), and the sandbox
// record's deletion goes with the removal's commit. Caller holds e.mu.
func (s *Service) endRun(e *entry) <-chan runEnd {
	done := make(chan runEnd, 1)
	skip := e.c.HostConfig.AutoRemove || e.killToRemove
	e.killToRemove = false
	var exit store.Op
	var err error
	if !skip {
		exit, err = store.PutOp(bucket, e.c.ID, &e.c)
	}
	id := e.c.ID
	go func() {
		var netOp store.Op
		if s.net != nil {
			var nerr error
			if netOp, nerr = s.net.DisconnectDeferred(context.Background(), id); nerr != nil {
				s.log.Warn("network teardown", "id", id, "err", nerr)
			}
		}
		switch {
		case err != nil:
			done <- runEnd{err: err, later: netOp}
		case skip:
			done <- runEnd{later: netOp}
		default:
			done <- runEnd{err: s.db.Update(store.All(exit, netOp))}
		}
	}()
	return done
}

// persistIfKnown writes e's record unless the container was removed
// meanwhile.
func (s *Service) persistIfKnown(e *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.removed:
		return
	default:
	}
	if err := s.persist(e); err != nil {
		s.log.Error("persist exit", "id", e.c.ID, "err", err)
	}
}
