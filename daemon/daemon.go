package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/cri"
	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/engine/userns"
	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/version"
	evtypes "github.com/moby/moby/api/types/events"
)

// Daemon is a running berthd.
type Daemon struct {
	cfg        *Config
	log        *slog.Logger
	level      *slog.LevelVar
	db         *store.DB
	runtimes   *runtime.Set
	userns     *userns.Remap // nil unless userns-remap is set
	images     *images.Service
	registry   *distribution.Service
	containers *containers.Service
	events     *events.Service
	networks   *network.Service
	volumes    *volumes.Service
	builder    *build.Service
	buildkit   *buildkit.Service
	cri        *cri.Server
	// monitorPath is berth-monitor (the CRI runs pod inits with it).
	monitorPath string
	servers     []*http.Server
	uiListener  net.Listener // the dashboard's (--ui-addr), or nil
	started     time.Time
	// engineID is /info's ID, stable across restarts (engineid.go).
	engineID string
	// reqCtx is the parent of every request's context; cancelling it ends
	// long-running requests (events, logs -f, wait) at shutdown.
	reqCtx    context.Context
	cancelReq context.CancelFunc
	// pidfile is set once this daemon wrote its pid file, which it then
	// removes at exit (never another daemon's).
	pidfile bool
}

// setLevel parses a log level into v.
func setLevel(v *slog.LevelVar, level string) error {
	switch strings.ToLower(level) {
	case "debug", "trace":
		v.Set(slog.LevelDebug)
	case "info", "":
		v.Set(slog.LevelInfo)
	case "warn", "warning":
		v.Set(slog.LevelWarn)
	case "error", "fatal", "panic":
		v.Set(slog.LevelError)
	default:
		return fmt.Errorf("unable to parse logging level: %s", level)
	}
	return nil
}

// Run starts berthd with cfg and serves until SIGTERM or SIGINT. reload,
// called on SIGHUP, reads the configuration again (file and flags).
func Run(cfg *Config, reload func() (*Config, error)) error {
	cfg.Defaults()
	d, err := newDaemon(cfg)
	if err != nil {
		return err
	}
	// The exec-root goes on a tmpfs before the listeners open: a socket
	// made there first would be hidden by the mount.
	if err := mountExecRoot(cfg.ExecRoot, d.log); err != nil {
		return err
	}
	// Listeners are opened before set-up too (a port in use ends the start
	// here); clients that connect meanwhile wait until serve.
	listeners, err := d.openListeners()
	if err != nil {
		return err
	}
	if err := d.setup(); err != nil {
		closeListeners(listeners)
		d.shutdown()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP is caught before the API answers: a reload sent as soon as
	// /_ping works (while the CRI still starts) must not kill berthd.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	errCh := make(chan error, len(listeners))
	if err := d.serve(listeners, errCh); err == nil {
		err = d.startCRI(errCh)
	}
	if err != nil {
		closeListeners(listeners)
		d.shutdown()
		return err
	}
	d.log.Info("berthd is ready", "version", version.Version, "api", api.APIVersion, "hosts", strings.Join(cfg.Hosts, ","), "runtime", d.runtimes.Default)
	return d.run(ctx, hup, errCh, reload)
}

// newDaemon checks everything that can refuse the start before berthd
// touches the host (folders, database, bridges, netfilter chains), so a
// refused start leaves nothing behind.
func newDaemon(cfg *Config) (*Daemon, error) {
	level := new(slog.LevelVar)
	if err := setLevel(level, cfg.LogLevel); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if os.Geteuid() != 0 {
		return nil, errors.New("berthd needs to be started with root privileges: it mounts filesystems and creates namespaces")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkNotRunning(cfg); err != nil {
		return nil, err
	}
	return &Daemon{cfg: cfg, log: log, level: level, started: time.Now()}, nil
}

// run serves until a stop signal (ctx) or a server's failure, reloading
// the configuration on each SIGHUP.
func (d *Daemon) run(ctx context.Context, hup <-chan os.Signal, errCh <-chan error, reload func() (*Config, error)) error {
	for {
		select {
		case <-ctx.Done():
			if *d.cfg.LiveRestore {
				d.log.Info("berthd is shutting down; containers keep running (live-restore)")
			} else {
				d.log.Info("berthd is shutting down and stopping its containers (live-restore is off)")
			}
			d.shutdown()
			return nil
		case err := <-errCh:
			d.shutdown()
			return err
		case <-hup:
			next, err := reload()
			if err != nil {
				d.log.Error("SIGHUP: configuration not reloaded", "err", err)
				continue
			}
			d.reload(next)
		}
	}
}

// setup opens the engine's state and builds its services, each given what
// it depends on, then brings the containers back to what they were.
func (d *Daemon) setup() error {
	if err := d.openRoots(); err != nil {
		return err
	}
	if err := d.setupRuntimes(); err != nil {
		return err
	}
	d.events = events.New()
	// The containers service needs the image and volume services, and
	// those ask the containers which of them use an image or a volume:
	// usage is bound to the containers once they exist, before anything
	// is served.
	usage := &lateContainers{}
	if err := d.setupImages(usage); err != nil {
		return err
	}
	initPath, err := d.findHelpers()
	if err != nil {
		return err
	}
	if err := d.setupRegistry(); err != nil {
		return err
	}
	if err := d.setupVolumesAndNetworks(usage); err != nil {
		return err
	}
	if err := d.setupContainers(initPath, usage); err != nil {
		return err
	}
	if err := d.setupBuilders(); err != nil {
		return err
	}
	if err := d.containers.Reconcile(context.Background()); err != nil {
		d.log.Error("reconcile", "err", err)
	}
	d.containers.RestartOnBoot(context.Background())
	return nil
}

// openRoots makes the data and exec roots, then takes the engine ID, the
// pid file and the database.
func (d *Daemon) openRoots() error {
	cfg := d.cfg
	if err := os.MkdirAll(cfg.DataRoot, 0o701); err != nil {
		return err
	}
	os.Chmod(cfg.DataRoot, 0o701)
	id, err := loadOrCreateEngineID(cfg.DataRoot)
	if err != nil {
		return fmt.Errorf("engine ID: %w", err)
	}
	d.engineID = id
	if err := os.MkdirAll(cfg.ExecRoot, 0o700); err != nil {
		return err
	}
	if err := writePidfile(cfg.Pidfile); err != nil {
		return err
	}
	d.pidfile = true
	db, err := store.Open(filepath.Join(cfg.DataRoot, "berth.db"))
	if err != nil {
		return err
	}
	d.db = db
	return nil
}

// favorDynmods has the kernel keep cgroup migrations fast (see
// runtime.FavorDynmods) unless "cgroup-favordynmods" is false; a kernel
// without the option only costs the containers' starts the wait.
func (d *Daemon) favorDynmods() {
	if !*d.cfg.CgroupFavorDynmods {
		return
	}
	mp, err := runtime.FavorDynmods()
	switch {
	case err != nil:
		d.log.Info("cgroups: moving a process into a cgroup waits for an RCU grace period on this host", "err", err)
	case mp != "":
		d.log.Info("cgroups: berthd set favordynmods on " + mp + ": moving a container's processes into its cgroups no longer waits for an RCU grace period (set \"cgroup-favordynmods\": false to leave the host as it is)")
	}
}

// setupRuntimes finds the OCI runtimes and the default isolation, and the
// user-namespace remapping if configured.
func (d *Daemon) setupRuntimes() error {
	cfg := d.cfg
	var err error
	d.runtimes, err = runtime.Detect(runtime.Options{
		ExecRoot: cfg.ExecRoot, DataRoot: cfg.DataRoot, Default: cfg.DefaultRuntime, Extra: cfg.Runtimes, FixHybrid: *cfg.CgroupHybridFix,
		Notify: func(msg string) { d.log.Info(msg) },
		// BERTH_CRUN names another build of crun to prefer (tests: a
		// missing one, to take Debian's).
		LeanCrun: os.Getenv("BERTH_CRUN"),
	})
	if err != nil {
		return err
	}
	if d.runtimes.DefaultIsolation, err = runtime.NormalizeIsolation(cfg.DefaultIsolation); err != nil {
		return fmt.Errorf("default-isolation: %w", err)
	}
	if d.runtimes.DefaultIsolation == runtime.IsolationSandbox {
		if _, err := d.runtimes.Get(runtime.RunscName); err != nil {
			return fmt.Errorf("default-isolation %q needs runsc: %v; %s", cfg.DefaultIsolation, err, runtime.RunscHint)
		}
	}
	for _, n := range d.runtimes.Host.Notes {
		d.log.Info(n)
	}
	d.favorDynmods()
	if d.userns, err = setupUserns(cfg); err != nil {
		return err
	}
	if d.userns != nil {
		d.log.Info("user namespaces: containers' ids are mapped to the subordinate ranges of "+d.userns.String(), "uids", d.userns.UID, "gids", d.userns.GID)
	}
	return nil
}

func (d *Daemon) setupImages(usage *lateContainers) error {
	var err error
	d.images, err = images.New(filepath.Join(d.cfg.DataRoot, "image"), d.db, images.Options{
		Log: d.log, Containers: usage, KeepBlobs: d.keptByBuildKit,
		Events: func(action, id string, attrs map[string]string) {
			d.events.Log(evtypes.ImageEventType, evtypes.Action(action), id, attrs)
		},
	})
	return err
}

// findHelpers finds berth-monitor and an init (for --init, "" if none),
// and checks the default log driver's options.
func (d *Daemon) findHelpers() (initPath string, err error) {
	d.monitorPath, err = findMonitor()
	if err != nil {
		return "", err
	}
	if monitor.CMonitor(d.monitorPath) == "" {
		d.log.Warn("the C monitor is not installed beside berth-monitor: every container runs the Go monitor, about 1 MiB more each",
			"want", filepath.Join(filepath.Dir(d.monitorPath), monitor.CMonitorName))
	}
	for _, p := range []string{"/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/bin/tini"} {
		if _, err := os.Stat(p); err == nil {
			initPath = p
			break
		}
	}
	if err := containers.ValidateLogConfig(d.cfg.LogDriver, d.cfg.LogOpts); err != nil {
		return "", fmt.Errorf("daemon.json log-driver/log-opts: %w", err)
	}
	return initPath, nil
}

func (d *Daemon) setupRegistry() error {
	cfg := d.cfg
	d.registry = distribution.New(distribution.Options{Images: d.images, Layers: d.images.LayerStore(), Content: d.images.Content(), Log: d.log})
	return d.registry.SetRegistryConfig(cfg.InsecureRegistries, cfg.RegistryMirrors, derefInt(cfg.MaxConcurrentDownloads), derefInt(cfg.MaxConcurrentUploads))
}

// setupVolumesAndNetworks opens the volumes (whose bind sources may not
// reach into the engine's roots) and the networks.
func (d *Daemon) setupVolumesAndNetworks(usage *lateContainers) error {
	cfg := d.cfg
	var err error
	d.volumes, err = volumes.New(cfg.DataRoot, d.db, volumes.Options{Log: d.log, Events: d.events, Users: usage})
	if err != nil {
		return err
	}
	mounts.ProtectPaths(cfg.DataRoot, cfg.ExecRoot)
	netCfg, err := networkConfig(cfg)
	if err != nil {
		return err
	}
	netCfg.Events = d.events
	d.networks, err = network.New(netCfg, d.db, d.log)
	if err != nil {
		return fmt.Errorf("networking: %w", err)
	}
	return nil
}

// setupContainers builds the containers service on the others and binds
// the late users of images and volumes to it.
func (d *Daemon) setupContainers(initPath string, usage *lateContainers) error {
	cfg := d.cfg
	hostGatewayIP, _ := netip.ParseAddr(cfg.HostGatewayIP)
	var err error
	d.containers, err = containers.New(containers.Config{
		Events:   d.events,
		DataRoot: cfg.DataRoot, ExecRoot: cfg.ExecRoot, MonitorPath: d.monitorPath, InitPath: initPath,
		LogDriver: cfg.LogDriver, LogOpts: cfg.LogOpts, CgroupParent: cfg.CgroupParent,
		HostGatewayIP: hostGatewayIP, Userns: d.containersRemap(),
		Commit: commit.New(d.images, d.images.LayerStore()),
	}, d.db, d.images, d.runtimes, d.networks, d.volumes, d.log)
	if err != nil {
		return err
	}
	usage.bind(d.containers)
	return nil
}

// setupBuilders builds the classic builder and BuildKit.
func (d *Daemon) setupBuilders() error {
	var err error
	d.builder, err = build.New(build.NewBackend(d.images, d.registry, d.containers), d.db, filepath.Join(d.cfg.DataRoot, "build"), d.log)
	if err != nil {
		return err
	}
	d.buildkit, err = d.newBuildKit()
	return err
}

// findMonitor looks for berth-monitor next to berthd, then in PATH.
func findMonitor() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "berth-monitor")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("berth-monitor")
	if err != nil {
		return "", errors.New("berth-monitor not found next to berthd or in PATH: install it with berthd (make install)")
	}
	return filepath.Abs(p)
}

// serve serves the API on the listeners.
func (d *Daemon) serve(listeners []net.Listener, errCh chan<- error) error {
	d.reqCtx, d.cancelReq = context.WithCancel(context.Background())
	backends := api.Backends{
		Containers: d.containers, Images: imageBackend{d.images, d.registry, imagearchive.New(d.images, d.images.LayerStore())}, System: d, Events: d.events,
		Networks: netBackend{d.networks, d.containers}, Volumes: d.volumes, Archive: d.containers, Build: d.builder,
		Distribution: d.registry,
	}
	if d.buildkit != nil {
		backends.BuildKit = d.buildkit
	}
	handler := api.New(backends, d.log)
	lim, err := d.cfg.APILimits.serveLimits()
	if err != nil {
		return fmt.Errorf("api-limits: %w", err)
	}
	apiHandler := withProfiler(d.level, d.serveUI(d.uiListener, handler, errCh))
	for _, l := range listeners {
		if l == d.uiListener {
			continue // served by serveUI
		}
		srv, l := api.NewHTTPServer(apiHandler, l, lim, d.reqCtx)
		d.servers = append(d.servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errCh <- err
			}
		}()
	}
	return nil
}

// shutdown stops serving and leaves containers running; their monitors do
// not depend on berthd.
func (d *Daemon) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*d.cfg.ShutdownTimeout)*time.Second)
	defer cancel()
	// Stop accepting, then end the requests that would otherwise wait for
	// a container or an event (short ones finish on their own).
	for _, s := range d.servers {
		s.SetKeepAlivesEnabled(false)
	}
	if d.cancelReq != nil {
		d.cancelReq()
	}
	for _, s := range d.servers {
		s.Shutdown(ctx)
	}
	if d.buildkit != nil {
		d.buildkit.Close()
	}
	if d.cri != nil {
		d.cri.Close()
	}
	if d.containers != nil {
		if !*d.cfg.LiveRestore {
			// Without live-restore, containers stop with the daemon, each
			// given its stop timeout within the daemon's shutdown-timeout.
			d.containers.StopAll(ctx)
		}
		d.containers.Close()
	}
	if d.runtimes != nil {
		d.runtimes.Cleanup()
		d.unpinRuntimes()
	}
	if d.userns != nil {
		d.userns.Close()
	}
	if d.networks != nil {
		d.networks.Close()
	}
	if d.db != nil {
		d.db.Close()
	}
	if d.pidfile {
		os.Remove(d.cfg.Pidfile)
	}
	unmountExecRoot(d.cfg.ExecRoot, d.log)
}

// unpinRuntimes removes the read-only mounts the runtimes run from, unless
// a monitor is left to run them: a container kept running (live-restore),
// or one stopped with the daemon whose monitor is still deleting it
// (waited for a few seconds).
func (d *Daemon) unpinRuntimes() {
	wait := time.Duration(0)
	if !*d.cfg.LiveRestore {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if !monitor.AnyHeld(ctx, filepath.Join(d.cfg.ExecRoot, "containers")) {
		d.runtimes.Unpin()
	}
}

// derefInt reads an optional number; nil means the service's default.
func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
