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
// Storage: BuildKit keeps its own containerd content store and overlay
// snapshotter under <root> (the build cache, which survives restarts); a
// base image that exists in Berth's store is made available to BuildKit by
// digest (layers as Berth stored them, uncompressed), and the image a build
// exports lands in Berth's store by digest (compressed layers as BuildKit
// wrote them). See ImageStore for the narrow view of Berth's images this
// package needs.
package buildkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/session"
	"github.com/moby/moby/api/types/build"
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
	Log              *slog.Logger
}

// Service owns the lazily started BuildKit controller.
type Service struct {
	cfg Config

	mu   sync.Mutex
	ctl  *control.Controller
	sm   *session.Manager
	w    *mobyWorker
	grpc *grpc.Server
	stop func()
	// cl is the in-process client POST /build?version=2 builds with.
	cl *client.Client
}

// New returns a service; nothing is opened until the first build request.
func New(cfg Config) (*Service, error) {
	if cfg.Root == "" || cfg.Images == nil {
		return nil, errors.New("buildkit: Root and Images are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{cfg: cfg}, nil
}

// start builds the controller once; a failed start is retried on the next
// request (a missing runtime binary can be installed meanwhile).
func (s *Service) start() (*control.Controller, *session.Manager, *grpc.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctl != nil {
		return s.ctl, s.sm, s.grpc, nil
	}
	if err := os.MkdirAll(s.cfg.Root, 0o700); err != nil {
		return nil, nil, nil, err
	}
	// Contexts of builds an earlier berthd did not finish.
	_ = os.RemoveAll(filepath.Join(s.cfg.Root, "contexts"))
	ctx, cancel := context.WithCancel(context.Background())
	ctl, sm, w, err := newController(ctx, s.cfg)
	if err != nil {
		cancel()
		return nil, nil, nil, fmt.Errorf("starting BuildKit: %w", err)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	ctl.Register(gs)
	s.ctl, s.sm, s.w, s.grpc = ctl, sm, w, gs
	s.stop = func() {
		gs.Stop()
		cancel()
		ctl.Close()
	}
	s.cfg.Log.Info("BuildKit started", "root", s.cfg.Root, "runtime", s.cfg.Runtime)
	return ctl, sm, gs, nil
}

// ServeGRPC serves the control API over conn, an HTTP connection the caller
// hijacked and answered "101 Switching Protocols, h2c", until the client
// closes it.
func (s *Service) ServeGRPC(conn net.Conn) error {
	_, _, gs, err := s.start()
	if err != nil {
		return err
	}
	(&http2.Server{}).ServeConn(conn, &http2.ServeConnOpts{Handler: gs})
	return nil
}

// Available reports whether the controller can run (without starting it):
// whether there is a runtime to run RUN steps with.
func (s *Service) Available() bool { return s.cfg.Runtime != "" }

// Start starts the controller now; berthd calls it only for errors to
// surface early in requests that need BuildKit.
func (s *Service) Start() error {
	_, _, _, err := s.start()
	return err
}

// ServeSession hands the hijackable request to BuildKit's session manager
// (the client's file sync, secrets, ssh and output streams).
func (s *Service) ServeSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	_, sm, _, err := s.start()
	if err != nil {
		return err
	}
	return sm.HandleHTTPRequest(ctx, w, r)
}

// Started reports whether the controller runs (system df asks BuildKit for
// its cache only then; a never-started BuildKit has a cache on disk only if
// an earlier berthd built, so df starts it when <root> exists).
func (s *Service) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctl != nil
}

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
	if _, _, _, err := s.start(); err != nil {
		return nil, err
	}
	du, err := s.w.DiskUsage(ctx, client.DiskUsageInfo{})
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
	if s.stop != nil {
		s.stop()
		s.stop, s.ctl = nil, nil
	}
}
