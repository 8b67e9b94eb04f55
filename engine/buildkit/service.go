// Package buildkit runs BuildKit inside berthd: the docker CLI's buildx
// plugin (and `docker build`, which goes through it) talks BuildKit's gRPC
// control API over the hijacked `POST /grpc` endpoint and opens its client
// session (context, secrets, ssh, outputs) over `POST /session`, as it does
// with dockerd's builder-next.
//
// The controller is started on first use, not with berthd: BuildKit opens
// several bbolt files and starts GC and history goroutines, none of which an
// engine that never builds should pay for.
//
// Storage: BuildKit's content store is Berth's blob store (see blobStore):
// a base image in Berth's store is handed to BuildKit by digest, its layer
// blobs registered in BuildKit's metadata without a copy, and the image a
// build exports lands in Berth's store by reference to the blobs the
// exporter wrote. Deletion is shared: BuildKit's GC deletes a blob only when
// no Berth layer uses it, Berth's GC keeps the blobs BuildKit has records
// of (KeptBlobs). BuildKit's own state (solver cache, build history, cache
// records, containerd's metadata DB, the overlay snapshots of build steps)
// is under <root> and survives restarts. See ImageStore for the narrow view
// of Berth's images this package needs.
package buildkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/engine/content"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/session"
	"github.com/moby/moby/api/types/build"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
)

// Config says where BuildKit keeps its state and what it runs builds with.
type Config struct {
	// Root is BuildKit's state directory (<data-root>/buildkit).
	Root string
	// Runtime is the OCI runtime binary RUN steps execute with (crun or runc).
	Runtime string
	// Images is Berth's image store.
	Images ImageStore
	// Network gives RUN steps their default network (nil: loopback only).
	Network Network
	// AllowNetworkHost is the daemon's network.host entitlement: whether a
	// build that asks for it (--allow network.host) may run steps in the
	// host's network namespace.
	AllowNetworkHost bool
	// Blobs is Berth's blob store, which BuildKit's content store uses.
	Blobs content.Store
	// GC is the build cache's automatic garbage collection; nil: on, with
	// the default policy.
	GC  *GCConfig
	Log *slog.Logger
}

// Service owns the lazily started BuildKit controller.
type Service struct {
	cfg Config

	// mu serialises start and Close (and guards cl); it is held across
	// BuildKit's start and stop, which may wait for Berth's image lock.
	mu sync.Mutex
	// live is the running BuildKit (nil before start and after Close), the
	// one place its parts are kept. It is read without mu: Berth's GC asks
	// KeptBlobs while it holds the image lock.
	live atomic.Pointer[instance]
	// cl is the in-process client POST /build?version=2 builds with.
	cl *client.Client
	// closed: Close ran; BuildKit does not start again.
	closed bool
}

// instance is one started BuildKit.
type instance struct {
	ctl  *control.Controller
	sm   *session.Manager
	w    *mobyWorker
	grpc *grpc.Server
	stop func()
	// readers guards closed: the worker's databases are read (KeptBlobs)
	// only while BuildKit has not begun to close them.
	readers sync.RWMutex
	closed  bool
}

// New returns a service; nothing is opened until the first build request.
func New(cfg Config) (*Service, error) {
	if cfg.Root == "" || cfg.Images == nil || cfg.Blobs == nil {
		return nil, errors.New("buildkit: Root, Images and Blobs are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	routeLogs(cfg.Log)
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, err
	}
	cfg.Root = root
	if err := migrate(cfg.Root); err != nil {
		return nil, err
	}
	// BuildKit ran when berthd last stopped without closing it (a crash):
	// its build steps may have left containers and mounts.
	marker := filepath.Join(cfg.Root, runningMarker)
	if _, err := os.Stat(marker); err == nil {
		if err := sweep(context.Background(), filepath.Join(cfg.Root, workerDir), cfg.Runtime); err != nil {
			cfg.Log.Warn("BuildKit: leftovers of an interrupted build remain", "err", err)
		} else {
			os.Remove(marker)
		}
	}
	return &Service{cfg: cfg}, nil
}

// runningMarker exists in <root> while BuildKit runs.
const runningMarker = "running"

// start builds the controller once; a failed start is retried on the next
// request (a missing runtime binary can be installed meanwhile).
func (s *Service) start() (*instance, error) {
	if in := s.live.Load(); in != nil {
		return in, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.live.Load(); in != nil {
		return in, nil
	}
	if s.closed {
		return nil, errors.New("BuildKit is shut down")
	}
	if err := os.MkdirAll(s.cfg.Root, 0o700); err != nil {
		return nil, err
	}
	// Contexts of builds an earlier berthd did not finish.
	_ = os.RemoveAll(filepath.Join(s.cfg.Root, "contexts"))
	if err := os.WriteFile(filepath.Join(s.cfg.Root, runningMarker), nil, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctl, sm, w, err := newController(ctx, s.cfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting BuildKit: %w", err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20), grpc.StreamInterceptor(s.pruneInterceptor))
	ctl.Register(gs)
	in := &instance{ctl: ctl, sm: sm, w: w, grpc: gs}
	in.stop = func() {
		gs.Stop()
		cancel()
		w.closePrunes()
		in.readers.Lock()
		in.closed = true
		in.readers.Unlock()
		ctl.Close()
		// Steps a client interrupted just before may still be tearing
		// down: their containers and mounts go now, not at next start.
		if err := sweep(context.Background(), filepath.Join(s.cfg.Root, workerDir), s.cfg.Runtime); err != nil {
			s.cfg.Log.Warn("BuildKit: leftovers of an interrupted build remain until the next start", "err", err)
			return
		}
		os.Remove(filepath.Join(s.cfg.Root, runningMarker))
	}
	s.live.Store(in)
	s.cfg.Log.Info("BuildKit started", "root", s.cfg.Root, "runtime", s.cfg.Runtime)
	return in, nil
}

// ServeGRPC serves the control API over conn, an HTTP connection the caller
// hijacked and answered "101 Switching Protocols, h2c", until the client
// closes it.
func (s *Service) ServeGRPC(conn net.Conn) error {
	in, err := s.start()
	if err != nil {
		return err
	}
	(&http2.Server{}).ServeConn(conn, &http2.ServeConnOpts{Handler: in.grpc})
	return nil
}

// Available reports whether the controller can run (without starting it):
// whether there is a runtime to run RUN steps with.
func (s *Service) Available() bool { return s.cfg.Runtime != "" }

// Start starts the controller now; berthd calls it only for errors to
// surface early in requests that need BuildKit.
func (s *Service) Start() error {
	_, err := s.start()
	return err
}

// Started reports whether the controller runs (system df asks BuildKit for
// its cache only then; a never-started BuildKit has a cache on disk only if
// an earlier berthd built, so df starts it when <root> exists).
func (s *Service) started() bool { return s.live.Load() != nil }

func (s *Service) hasState() bool {
	_, err := os.Stat(filepath.Join(s.cfg.Root, "cache.db"))
	return err == nil
}

// BuildCache lists the build cache records as /system/df reports them
// (none when BuildKit never ran on this data root).
func (s *Service) BuildCache(ctx context.Context) ([]build.CacheRecord, error) {
	if !s.started() && !s.hasState() {
		return nil, nil
	}
	in, err := s.start()
	if err != nil {
		return nil, err
	}
	du, err := in.w.DiskUsage(ctx, client.DiskUsageInfo{})
	if err != nil {
		return nil, err
	}
	out := make([]build.CacheRecord, 0, len(du))
	for _, u := range du {
		out = append(out, build.CacheRecord{
			ID: u.ID, Parents: u.Parents, Type: string(u.RecordType), Description: u.Description,
			InUse: u.InUse, Shared: u.Shared, Size: u.Size, CreatedAt: u.CreatedAt,
			LastUsedAt: u.LastUsedAt, UsageCount: u.UsageCount,
		})
	}
	return out, nil
}

// Close stops the controller if it was started.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	s.closed = true
	if in := s.live.Swap(nil); in != nil {
		in.stop()
	}
}

// keptBlobs adds the blobs the running BuildKit references to kept; ok is
// false when it has begun to close (its databases are then read from disk).
func (in *instance) keptBlobs(kept map[string]bool) (ok bool, err error) {
	in.readers.RLock()
	defer in.readers.RUnlock()
	if in.closed {
		return false, nil
	}
	in.w.blobs.keep(kept)
	return true, in.w.ctdDB.View(func(tx *bolt.Tx) error { return keptBlobs(tx, kept) })
}

// KeptBlobs lists the blobs of the shared store BuildKit references (has
// records of, or is writing): Berth's GC keeps them. It reads BuildKit's
// metadata DB from disk when BuildKit has not started in this run; s may
// be nil (no BuildKit in this run) and root then names its state.
func KeptBlobs(ctx context.Context, s *Service, root string) (map[string]bool, error) {
	kept := map[string]bool{}
	if s != nil {
		if in := s.live.Load(); in != nil {
			if ok, err := in.keptBlobs(kept); ok {
				return kept, err
			}
		}
		root = s.cfg.Root
	}
	p := filepath.Join(root, workerDir, ctdMetaFile)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return kept, nil
	}
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return kept, db.View(func(tx *bolt.Tx) error { return keptBlobs(tx, kept) })
}
