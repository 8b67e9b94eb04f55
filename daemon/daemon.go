package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/cri"
	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/buildkit"
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
	"github.com/berth-dev/berth/internal/version"
	evtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
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

// openListeners opens the API's listeners and the dashboard's, if any.
func (d *Daemon) openListeners() ([]net.Listener, error) {
	listeners, err := d.listenAll()
	if err != nil {
		return nil, err
	}
	if d.uiListener, err = d.listenUI(); err != nil {
		closeListeners(listeners)
		return nil, err
	}
	if d.uiListener != nil {
		// Closed with the others when the start fails.
		listeners = append(listeners, d.uiListener)
	}
	return listeners, nil
}

func closeListeners(listeners []net.Listener) {
	for _, l := range listeners {
		l.Close()
	}
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
	// The containers service needs the image service, and the image
	// service asks the containers which of them use an image: usage is
	// bound to the containers once they exist, before anything is served.
	usage := &lateImageUsage{}
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
	if err := d.setupVolumesAndNetworks(); err != nil {
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

// setupRuntimes finds the OCI runtimes and the default isolation, and the
// user-namespace remapping if configured.
func (d *Daemon) setupRuntimes() error {
	cfg := d.cfg
	var err error
	d.runtimes, err = runtime.Detect(runtime.Options{
		ExecRoot: cfg.ExecRoot, Default: cfg.DefaultRuntime, Extra: cfg.Runtimes, FixHybrid: *cfg.CgroupHybridFix,
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
	if d.userns, err = setupUserns(cfg); err != nil {
		return err
	}
	if d.userns != nil {
		d.log.Info("user namespaces: containers' ids are mapped to the subordinate ranges of "+d.userns.String(), "uids", d.userns.UID, "gids", d.userns.GID)
	}
	return nil
}

func (d *Daemon) setupImages(usage *lateImageUsage) error {
	var err error
	d.images, err = images.New(filepath.Join(d.cfg.DataRoot, "image"), d.db, images.Options{
		Log: d.log, Containers: usage,
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
	d.registry = distribution.New(distribution.Options{Images: d.images, Content: d.images.Content(), Log: d.log})
	return d.registry.SetRegistryConfig(cfg.InsecureRegistries, cfg.RegistryMirrors, derefInt(cfg.MaxConcurrentDownloads), derefInt(cfg.MaxConcurrentUploads))
}

// setupVolumesAndNetworks opens the volumes (whose bind sources may not
// reach into the engine's roots) and the networks.
func (d *Daemon) setupVolumesAndNetworks() error {
	cfg := d.cfg
	var err error
	d.volumes, err = volumes.New(cfg.DataRoot, d.db, d.log, d.events)
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
// the late users: image usage and volume users.
func (d *Daemon) setupContainers(initPath string, usage *lateImageUsage) error {
	cfg := d.cfg
	hostGatewayIP, _ := netip.ParseAddr(cfg.HostGatewayIP)
	var err error
	d.containers, err = containers.New(containers.Config{
		Events:   d.events,
		DataRoot: cfg.DataRoot, ExecRoot: cfg.ExecRoot, MonitorPath: d.monitorPath, InitPath: initPath,
		LogDriver: cfg.LogDriver, LogOpts: cfg.LogOpts, CgroupParent: cfg.CgroupParent,
		HostGatewayIP: hostGatewayIP, Userns: d.containersRemap(),
	}, d.db, d.images, d.runtimes, d.networks, d.volumes, d.log)
	if err != nil {
		return err
	}
	usage.bind(d.containers)
	d.volumes.SetUsers(d.containers.VolumeUsers)
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

// livePidfile refuses a pid file that names a live berthd other than this
// process; a stale one (dead or reused pid) is fine.
func livePidfile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || pid == os.Getpid() || unix.Kill(pid, 0) != nil {
		return nil
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "berthd" {
		return fmt.Errorf("pid file %s names a running berthd (pid %d): stop it first, or give this one its own --pidfile, -H, --data-root and --exec-root", path, pid)
	}
	return nil
}

// checkNotRunning refuses to start over a live daemon: one named by the
// pid file, or one answering on a unix socket this daemon would listen on
// (listen replaces the socket file, which would leave the other daemon
// running but unreachable, and remove the file again at exit). A socket
// file nothing answers on is stale and is replaced.
func checkNotRunning(cfg *Config) error {
	if err := livePidfile(cfg.Pidfile); err != nil {
		return err
	}
	for _, h := range cfg.Hosts {
		ha, err := cfg.parseHost(h)
		if err != nil {
			return err
		}
		if ha.proto != "unix" {
			continue
		}
		fi, err := os.Lstat(ha.addr)
		if err != nil {
			continue
		}
		if fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("-H %s: %s exists and is not a socket; berthd will not replace it", h, ha.addr)
		}
		c, err := net.DialTimeout("unix", ha.addr, 2*time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("-H %s: a daemon is already answering on %s (another berthd?); stop it first or choose another socket", h, ha.addr)
		}
	}
	return nil
}

func writePidfile(path string) error {
	if err := livePidfile(path); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// listenAll opens every -H listener; on error none stays open.
func (d *Daemon) listenAll() ([]net.Listener, error) {
	var out []net.Listener
	for _, h := range d.cfg.Hosts {
		l, err := d.listen(h)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// serve serves the API on the listeners.
func (d *Daemon) serve(listeners []net.Listener, errCh chan<- error) error {
	d.reqCtx, d.cancelReq = context.WithCancel(context.Background())
	backends := api.Backends{
		Containers: d.containers, Images: imageBackend{d.images, d.registry, imagearchive.New(d.images, d.images.Content())}, System: d, Events: d.events,
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

// listen opens one -H address: unix://path (0660, group berth when it
// exists), tcp://host:port (loopback only until TLS support lands), fd://.
func (d *Daemon) listen(addr string) (net.Listener, error) {
	ha, err := d.cfg.parseHost(addr)
	if err != nil {
		return nil, err
	}
	rest := ha.addr
	switch ha.proto {
	case "unix":
		if err := os.MkdirAll(filepath.Dir(rest), 0o755); err != nil {
			return nil, err
		}
		// checkNotRunning made sure nothing answers on a socket file here.
		if err := os.Remove(rest); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		l, err := net.Listen("unix", rest)
		if err != nil {
			return nil, err
		}
		gid := 0
		if g, err := user.LookupGroup(d.cfg.Group); err == nil {
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(rest, 0, gid); err != nil {
			l.Close()
			return nil, err
		}
		if err := os.Chmod(rest, 0o660); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	case "tcp":
		if d.cfg.tlsOn() {
			tc, err := serverTLS(d.cfg)
			if err != nil {
				return nil, err
			}
			l, err := net.Listen("tcp", rest)
			if err != nil {
				return nil, err
			}
			if tc.ClientAuth != tls.RequireAndVerifyClientCert {
				d.log.Warn("TLS without --tlsverify: clients are not authenticated; anyone who reaches this port controls berthd", "addr", rest)
			}
			return tls.NewListener(l, tc), nil
		}
		if !ha.loopback {
			d.log.Warn("!!! SERVING THE API ON PLAIN TCP WITHOUT TLS !!! Anyone who can reach this address has root on this host", "addr", rest)
		} else {
			d.log.Warn("serving the API on plain TCP on loopback: every local user who can connect controls berthd", "addr", rest)
		}
		return net.Listen("tcp", rest)
	}
	return fdListener(rest)
}

// serverTLS loads the server certificate; with tlsverify, clients must
// present a certificate signed by the CA.
func serverTLS(cfg *Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate (%s, %s): %w; create them with `berthd certs`", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSVerify != nil && *cfg.TLSVerify {
		pem, err := os.ReadFile(cfg.TLSCACert)
		if err != nil {
			return nil, fmt.Errorf("load TLS CA %s: %w", cfg.TLSCACert, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate found in %s", cfg.TLSCACert)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// fdListener serves on a socket passed by systemd socket activation.
func fdListener(which string) (net.Listener, error) {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, errors.New("fd:// needs socket activation (LISTEN_PID/LISTEN_FDS not set for this process)")
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if n < 1 {
		return nil, errors.New("fd://: no sockets were passed (LISTEN_FDS)")
	}
	idx := 0
	if which != "" {
		i, err := strconv.Atoi(which)
		if err != nil || i < 3 || i >= 3+n {
			return nil, fmt.Errorf("fd://%s: not one of the passed sockets", which)
		}
		idx = i - 3
	}
	f := os.NewFile(uintptr(3+idx), "listen-fd")
	return net.FileListener(f)
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
