package buildkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	classic "github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/internal/buildopt"
	"github.com/berth-dev/berth/internal/errdefs"
)

// BuildOptions is a Dockerfile build sent to POST /build with version=2:
// the context comes as the request body, progress goes back as BuildKit's
// status messages. Every field is applied; what BuildKit inside berthd
// cannot do from a request body (outputs and caches in the client's
// folders, ssh forwarding) is refused by Check.
type BuildOptions struct {
	Tags []string
	// Frontend are the Dockerfile frontend's options (its Filename is a
	// path inside the context), Allow the entitlements the client grants
	// the build (--allow): only network.host, which the daemon must allow
	// too.
	buildopt.Frontend
	// CacheFrom are images (or "type=registry,ref=...") to import cache
	// from; CacheTo are cache exports ("type=inline", "type=registry,...").
	CacheFrom, CacheTo []CacheEntry
	// Outputs: none (the image lands in Berth's store) or one of
	// type=image|docker|moby with attributes.
	Outputs []Output
	// Secrets are the --secret values the client read, by id.
	Secrets map[string][]byte
	// MaxContextSize and MaxContextEntries cap the context (0 = defaults).
	MaxContextSize    int64
	MaxContextEntries int
}

// CacheEntry is one --cache-from/--cache-to value.
type CacheEntry struct {
	Type  string            `json:"Type"`
	Attrs map[string]string `json:"Attrs"`
}

// Output is one --output value.
type Output struct {
	Type  string            `json:"Type"`
	Attrs map[string]string `json:"Attrs"`
}

// Check refuses what a build from a request body cannot do, before the
// context is read.
func (o *BuildOptions) Check() error {
	for _, e := range o.Allow {
		switch e {
		case string(entitlements.EntitlementNetworkHost):
		case string(entitlements.EntitlementSecurityInsecure):
			return errdefs.Invalid("entitlement security.insecure is not granted by berthd")
		default:
			return errdefs.Invalid("invalid entitlement %q (network.host)", e)
		}
	}
	if _, err := o.Attrs(); err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	if len(o.Outputs) > 1 {
		return errdefs.Invalid("multiple outputs are not supported")
	}
	for _, out := range o.Outputs {
		switch out.Type {
		case "image", "docker", "moby":
			if out.Attrs["dest"] != "" {
				return errdefs.Invalid("output type=%s with dest: the file would be written by berthd, not the client; use `berth build` or `docker buildx build`, which write client-side outputs over a session", out.Type)
			}
		case "local", "tar", "oci":
			return errdefs.Invalid("output type=%s writes to the client's files, which berthd does not reach from a build request: use `berth build -o type=%s,...` or `docker buildx build -o type=%s,...`, which write them over a session", out.Type, out.Type, out.Type)
		default:
			return errdefs.Invalid("output type %q is not supported (image, docker)", out.Type)
		}
	}
	for _, c := range append(append([]CacheEntry(nil), o.CacheFrom...), o.CacheTo...) {
		switch c.Type {
		case "registry", "inline":
		case "local":
			return errdefs.Invalid("cache type=local reads and writes the client's folders, which berthd does not reach from a build request: use `berth build` or `docker buildx build` (over a session), or type=registry")
		default:
			return errdefs.Invalid("cache type %q is not supported (inline, registry)", c.Type)
		}
	}
	for _, c := range o.CacheFrom {
		if c.Type == "inline" {
			return errdefs.Invalid("--cache-from type=inline is not a cache source: name the image with type=registry,ref=IMAGE")
		}
	}
	if o.Platform != "" {
		if err := checkPlatform(o.Platform); err != nil {
			return err
		}
	}
	return nil
}

// checkPlatform accepts the host's platform only: RUN steps execute
// natively, there is no emulation.
func checkPlatform(s string) error {
	for _, one := range strings.Split(s, ",") {
		p, err := platforms.Parse(strings.TrimSpace(one))
		if err != nil {
			return errdefs.Invalid("invalid platform %q: %s", one, err.Error())
		}
		if !platforms.Only(platforms.DefaultSpec()).Match(p) {
			return errdefs.Invalid("platform %s is not supported: this daemon builds for %s only (no emulation)", platforms.Format(p), platforms.Format(platforms.DefaultSpec()))
		}
	}
	return nil
}

// Build extracts the context tar into a private folder, builds the
// Dockerfile in it with the Dockerfile frontend, stores the image in
// Berth's store, and returns its ID. status receives every BuildKit status
// update, encoded as a StatusResponse (the form dockerd sends with aux id
// moby.buildkit.trace).
func (s *Service) Build(ctx context.Context, contextTar io.Reader, o BuildOptions, status func([]byte)) (string, error) {
	if err := o.Check(); err != nil {
		return "", err
	}
	c, err := s.client()
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(s.cfg.Root, "contexts")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(tmp, "ctx-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := classic.ExtractContext(contextTar, dir, o.MaxContextSize, o.MaxContextEntries); err != nil {
		return "", err
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return "", err
	}
	solve, err := o.solveOpt(fs)
	if err != nil {
		return "", err
	}
	ch := make(chan *client.SolveStatus)
	var resp *client.SolveResponse
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		resp, err = c.Solve(ectx, nil, solve, ch)
		return err
	})
	eg.Go(func() error {
		for st := range ch {
			for _, sr := range st.Marshal() {
				if b, err := sr.MarshalVT(); err == nil {
					status(b)
				}
			}
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		return "", err
	}
	if id := resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey]; id != "" {
		return id, nil
	}
	return resp.ExporterResponse[exptypes.ExporterImageDigestKey], nil
}

// solveOpt is the Solve request for o, with the context (and the
// Dockerfile in it) read from fs.
func (o *BuildOptions) solveOpt(fs fsutil.FS) (client.SolveOpt, error) {
	attrs, err := o.Attrs()
	if err != nil {
		return client.SolveOpt{}, errdefs.Invalid("%s", err.Error())
	}
	exp := client.ExportEntry{Type: exporterMoby, Attrs: map[string]string{}}
	for _, out := range o.Outputs {
		for k, v := range out.Attrs {
			exp.Attrs[k] = v
		}
	}
	if len(o.Tags) > 0 {
		names := append([]string(nil), o.Tags...)
		if n := exp.Attrs["name"]; n != "" {
			names = append(names, n)
		}
		sort.Strings(names)
		exp.Attrs["name"] = strings.Join(names, ",")
	}
	so := client.SolveOpt{
		Frontend:            "dockerfile.v0",
		FrontendAttrs:       attrs,
		LocalMounts:         map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports:             []client.ExportEntry{exp},
		AllowedEntitlements: o.Allow,
	}
	for _, c := range o.CacheFrom {
		so.CacheImports = append(so.CacheImports, client.CacheOptionsEntry{Type: c.Type, Attrs: c.Attrs})
	}
	for _, c := range o.CacheTo {
		so.CacheExports = append(so.CacheExports, client.CacheOptionsEntry{Type: c.Type, Attrs: c.Attrs})
	}
	if len(o.Secrets) > 0 {
		so.Session = []session.Attachable{secretsprovider.FromMap(o.Secrets)}
	}
	return so, nil
}

// client is an in-process BuildKit client: its gRPC connections are
// socket pairs served by the same gRPC server /grpc hands to buildx, so a
// build from POST /build goes through the controller exactly as buildx's.
func (s *Service) client() (*client.Client, error) {
	if _, err := s.start(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return s.cl, nil
	}
	cl, err := client.New(context.Background(), "unix:///berthd-in-process", client.WithContextDialer(func(context.Context, string) (net.Conn, error) {
		return s.pipe()
	}))
	if err != nil {
		return nil, fmt.Errorf("BuildKit client: %w", err)
	}
	s.cl = cl
	return cl, nil
}

// pipe returns one end of a connected unix socket pair whose other end the
// control API serves.
func (s *Service) pipe() (net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "buildkit-pipe")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			if i == 1 {
				conns[0].Close()
			}
			return nil, err
		}
		conns[i] = c
	}
	go func() {
		defer conns[1].Close()
		if err := s.ServeGRPC(conns[1]); err != nil {
			s.cfg.Log.Warn("BuildKit in-process control stream", "err", err)
		}
	}()
	return conns[0], nil
}
