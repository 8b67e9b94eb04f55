package cri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"

	"github.com/berth-dev/berth/internal/version"
)

// RuntimeName is what Version reports.
const RuntimeName = "berth"

// Config is the CRI part of daemon.json ("cri": {...}) resolved.
type Config struct {
	// StateDir holds the sandboxes' pinned namespaces and host files
	// (<exec-root>/cri).
	StateDir string
	// CNIConfDir and CNIBinDirs are where CNI network configs and plugin
	// binaries are; CNICacheDir is libcni's result cache.
	CNIConfDir  string
	CNIBinDirs  []string
	CNICacheDir string
	// StreamAddress is where the streaming server (exec, attach,
	// port-forward) listens: host:port, port 0 picks one.
	StreamAddress string
	// Mirrors maps a registry host ("registry.k8s.io") to the hosts that
	// serve its repositories instead, tried in order.
	Mirrors map[string][]string
	// MirrorsOnly stops a pull that no mirror of a mirrored host served
	// from going to the registry itself (clusters without internet).
	MirrorsOnly bool
	// CgroupParent is the cgroupfs parent of pod containers.
	CgroupParent string
	// RuntimeHandlers are the runtime handler names accepted besides "".
	RuntimeHandlers []string
	// MonitorPath is berth-monitor, which runs a pod's PID 1 (pod-init).
	MonitorPath string
}

// Server is the CRI gRPC service.
type Server struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	cfg     Config
	ctrs    Containers
	imgs    Images
	store   Store
	log     *slog.Logger
	cni     *cniNet
	stream  streaming.Server
	httpSrv *http.Server
	grpc    *grpc.Server

	mu         sync.Mutex // guards sandboxes and containers
	sandboxes  map[string]*sandbox
	containers map[string]*criContainer

	events *broadcaster
	ctx    context.Context
	cancel context.CancelFunc
}

// New loads the CRI records and starts the streaming server.
func New(cfg Config, ctrs Containers, imgs Images, st Store, log *slog.Logger) (*Server, error) {
	if err := st.EnsureBuckets(sandboxBucket, containerBucket); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "sandboxes"), 0o700); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, ctrs: ctrs, imgs: imgs, store: st, log: log,
		sandboxes: map[string]*sandbox{}, containers: map[string]*criContainer{},
		cni: newCNI(cfg), events: newBroadcaster(), ctx: ctx, cancel: cancel}
	if err := s.load(); err != nil {
		cancel()
		return nil, err
	}
	if err := s.startStreaming(); err != nil {
		cancel()
		return nil, err
	}
	go s.watchEvents()
	return s, nil
}

func (s *Server) startStreaming() error {
	addr := s.cfg.StreamAddress
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cri streaming server: %w", err)
	}
	sc := streaming.DefaultConfig
	sc.Addr = l.Addr().String()
	sc.BaseURL = &url.URL{Scheme: "http", Host: l.Addr().String()}
	srv, err := streaming.NewServer(sc, streamRuntime{s})
	if err != nil {
		l.Close()
		return err
	}
	s.stream = srv
	s.httpSrv = &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		if err := s.httpSrv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("cri streaming server stopped", "err", err)
		}
	}()
	return nil
}

// Serve answers CRI requests on l until Close.
func (s *Server) Serve(l net.Listener) error {
	s.grpc = grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(s.grpc, s)
	runtimeapi.RegisterImageServiceServer(s.grpc, s)
	return s.grpc.Serve(l)
}

// Close stops serving; sandboxes and containers stay.
func (s *Server) Close() {
	if s.grpc != nil {
		s.grpc.Stop()
	}
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	s.cancel()
}

// grpcErr turns an engine error into the gRPC status kubelet branches on.
func grpcErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unknown
	switch {
	case errdefs.IsNotFound(err):
		code = codes.NotFound
	case errdefs.IsConflict(err), errdefs.IsAlreadyExists(err):
		code = codes.AlreadyExists
	case errdefs.IsInvalidArgument(err):
		code = codes.InvalidArgument
	case errdefs.IsNotImplemented(err):
		code = codes.Unimplemented
	case errdefs.IsUnauthorized(err), errdefs.IsPermissionDenied(err):
		code = codes.PermissionDenied
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

func notFound(format string, args ...any) error {
	return status.Errorf(codes.NotFound, format, args...)
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// Version reports the CRI and runtime versions.
func (s *Server) Version(ctx context.Context, r *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{
		Version: "0.1.0", RuntimeName: RuntimeName,
		RuntimeVersion: version.Version, RuntimeApiVersion: "v1",
	}, nil
}

// Status reports RuntimeReady, and NetworkReady false with the reason
// while no CNI config is usable.
func (s *Server) Status(ctx context.Context, r *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	netCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	if err := s.cni.ready(); err != nil {
		netCond.Status = false
		netCond.Reason = "NetworkPluginNotReady"
		netCond.Message = err.Error()
	}
	resp := &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true}, netCond,
	}}}
	for _, h := range append([]string{""}, s.cfg.RuntimeHandlers...) {
		resp.RuntimeHandlers = append(resp.RuntimeHandlers, &runtimeapi.RuntimeHandler{Name: h,
			Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: false, UserNamespaces: false}})
	}
	if r.Verbose {
		resp.Info = map[string]string{"config": fmt.Sprintf(`{"cniConfDir":%q,"streamServer":%q}`, s.cfg.CNIConfDir, s.cfg.StreamAddress)}
	}
	return resp, nil
}

// RuntimeConfig tells kubelet the cgroup driver: Berth uses cgroupfs.
func (s *Server) RuntimeConfig(ctx context.Context, r *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return &runtimeapi.RuntimeConfigResponse{Linux: &runtimeapi.LinuxRuntimeConfiguration{
		CgroupDriver: runtimeapi.CgroupDriver_CGROUPFS,
	}}, nil
}

// UpdateRuntimeConfig takes kubelet's pod CIDR; the CNI config owns
// addressing, so only an empty or unchanged value is accepted silently.
func (s *Server) UpdateRuntimeConfig(ctx context.Context, r *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	if cidr := r.GetRuntimeConfig().GetNetworkConfig().GetPodCidr(); cidr != "" {
		s.log.Info("cri: kubelet's pod CIDR noted; addresses come from the CNI config", "podCIDR", cidr)
	}
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

func isNotFound(err error) bool {
	return status.Code(err) == codes.NotFound || errdefs.IsNotFound(err)
}
