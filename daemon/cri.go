package daemon

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/cri"
	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/images"
	berrdefs "github.com/berth-dev/berth/internal/errdefs"
)

// CRIConfig is daemon.json's "cri" section.
type CRIConfig struct {
	// Enabled serves the CRI (default true).
	Enabled *bool `json:"enabled,omitempty"`
	// Socket is the CRI's unix socket (default <exec-root>/cri.sock).
	Socket string `json:"socket,omitempty"`
	// CNIConfDir (default /etc/cni/net.d) and CNIBinDirs (default
	// /usr/lib/cni, /opt/cni/bin) locate the pod network.
	CNIConfDir string   `json:"cni-conf-dir,omitempty"`
	CNIBinDirs []string `json:"cni-bin-dirs,omitempty"`
	// StreamAddress is the exec/attach/port-forward server's host:port
	// (default 127.0.0.1:0, a free port on loopback).
	StreamAddress string `json:"stream-address,omitempty"`
	// RegistryMirrors maps a registry host to mirrors tried first for its
	// images ({"registry.k8s.io": ["127.0.0.1:5000"]}).
	RegistryMirrors map[string][]string `json:"registry-mirrors,omitempty"`
	// RegistryMirrorsOnly never falls back from a mirrored host's mirrors
	// to the host itself.
	RegistryMirrorsOnly bool `json:"registry-mirrors-only,omitempty"`
}

// validate refuses what startCRI could not apply.
func (c *CRIConfig) validate() error {
	if c == nil {
		return nil
	}
	if c.Socket != "" && !filepath.IsAbs(c.Socket) {
		return fmt.Errorf("cri.socket %q: must be an absolute path", c.Socket)
	}
	if c.CNIConfDir != "" && !filepath.IsAbs(c.CNIConfDir) {
		return fmt.Errorf("cri.cni-conf-dir %q: must be an absolute path", c.CNIConfDir)
	}
	for _, d := range c.CNIBinDirs {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("cri.cni-bin-dirs %q: must be an absolute path", d)
		}
	}
	if c.StreamAddress != "" {
		if _, _, err := net.SplitHostPort(c.StreamAddress); err != nil {
			return fmt.Errorf("cri.stream-address %q: %v", c.StreamAddress, err)
		}
	}
	for host, mirrors := range c.RegistryMirrors {
		if host == "" || strings.ContainsAny(host, "/ ") {
			return fmt.Errorf("cri.registry-mirrors: %q is not a registry host", host)
		}
		for _, m := range mirrors {
			u := strings.TrimPrefix(strings.TrimPrefix(m, "https://"), "http://")
			if u == "" || strings.HasSuffix(u, "/") && len(u) == 1 {
				return fmt.Errorf("cri.registry-mirrors[%s]: empty mirror", host)
			}
		}
	}
	return nil
}

func (c *CRIConfig) enabled() bool { return c == nil || c.Enabled == nil || *c.Enabled }

func (c *Config) criSocket() string {
	if c.CRI != nil && c.CRI.Socket != "" {
		return c.CRI.Socket
	}
	return filepath.Join(c.ExecRoot, "cri.sock")
}

// startCRI serves the CRI on its socket (root only, 0600).
func (d *Daemon) startCRI(errCh chan<- error) error {
	cc := d.cfg.CRI
	if !cc.enabled() {
		return nil
	}
	if cc == nil {
		cc = &CRIConfig{}
	}
	cfg := cri.Config{
		StateDir: filepath.Join(d.cfg.ExecRoot, "cri"), CNIConfDir: cc.CNIConfDir, CNIBinDirs: cc.CNIBinDirs,
		CNICacheDir: filepath.Join(d.cfg.DataRoot, "cri", "cni-cache"), StreamAddress: cc.StreamAddress,
		Mirrors: cc.RegistryMirrors, MirrorsOnly: cc.RegistryMirrorsOnly, MonitorPath: d.monitorPath,
	}
	if cfg.CNIConfDir == "" {
		cfg.CNIConfDir = "/etc/cni/net.d"
	}
	if len(cfg.CNIBinDirs) == 0 {
		cfg.CNIBinDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}
	}
	srv, err := cri.New(cfg, criContainers{d.containers, d.events}, criImages{d.images, d.registry, filepath.Join(d.cfg.DataRoot, "image")}, d.db, d.log)
	if err != nil {
		return fmt.Errorf("cri: %w", err)
	}
	sock := d.cfg.criSocket()
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		srv.Close()
		return err
	}
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		srv.Close()
		return fmt.Errorf("cri: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		l.Close()
		srv.Close()
		return err
	}
	d.cri = srv
	go func() {
		if err := srv.Serve(l); err != nil {
			errCh <- fmt.Errorf("cri: %w", err)
		}
	}()
	return nil
}

// criContainers adapts the container service to cri.Containers.
type criContainers struct {
	s      *containers.Service
	events *events.Service
}

func (a criContainers) Create(ctx context.Context, r cri.CreateRequest) (string, error) {
	id, _, err := a.s.Create(ctx, containers.CreateOptions{Name: r.Name, Config: r.Config, HostConfig: r.HostConfig,
		Pod: &containers.PodOptions{Namespaces: r.Namespaces, HostnamePath: r.HostnamePath, HostsPath: r.HostsPath,
			ResolvConfPath: r.ResolvConfPath, LogPath: r.LogPath}})
	return id, engineErr(err)
}

func (a criContainers) Start(ctx context.Context, id string) error { return a.s.Start(ctx, id) }

func (a criContainers) Stop(ctx context.Context, id string, timeout time.Duration) error {
	t := int(timeout / time.Second)
	err := a.s.Stop(ctx, id, containers.StopOptions{Timeout: &t})
	if berrdefs.IsNotModified(err) { // already stopped
		return nil
	}
	return engineErr(err)
}

func (a criContainers) Remove(ctx context.Context, id string) error {
	return engineErr(a.s.Remove(ctx, id, containers.RemoveOptions{Force: true}))
}

func (a criContainers) Inspect(ctx context.Context, id string) (*container.InspectResponse, error) {
	ins, err := a.s.Inspect(ctx, id, false)
	return ins, engineErr(err)
}

func (a criContainers) Update(ctx context.Context, id string, u container.UpdateConfig) error {
	_, err := a.s.Update(ctx, id, u)
	return engineErr(err)
}

func (a criContainers) Stats(ctx context.Context, id string) (*container.StatsResponse, error) {
	var out *container.StatsResponse
	err := a.s.Stats(ctx, id, false, true, func(st *container.StatsResponse) error { out = st; return nil })
	if err == nil && out == nil {
		err = errdefs.ErrUnavailable.WithMessage("no stats for " + id)
	}
	return out, err
}

func (a criContainers) ReopenLog(ctx context.Context, id string) error {
	return engineErr(a.s.ReopenLog(ctx, id))
}

func (a criContainers) Exec(ctx context.Context, id string, sio cri.StreamIO) (int, error) {
	execID, err := a.s.ExecCreate(ctx, id, container.ExecCreateRequest{Cmd: sio.Cmd, Tty: sio.Tty,
		AttachStdin: sio.Stdin != nil, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, engineErr(err)
	}
	st := newPipeStream(sio)
	stopResize := a.forwardResize(sio.Resize, func(h, w uint16) error { return a.s.ExecResize(context.Background(), execID, h, w) })
	defer stopResize()
	errc := make(chan error, 1)
	go func() { errc <- a.s.ExecStart(context.WithoutCancel(ctx), execID, sio.Tty, nil, st) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		// A timed-out ExecSync leaves no process behind (kubelet's
		// probes rely on it).
		if ins, err := a.s.ExecInspect(context.Background(), execID); err == nil && ins.Pid > 0 && ins.Running {
			unix.Kill(ins.Pid, unix.SIGKILL)
		}
		st.Close()
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, engineErr(err)
	}
	ins, err := a.s.ExecInspect(ctx, execID)
	if err != nil {
		return -1, err
	}
	if ins.ExitCode == nil {
		return -1, errdefs.ErrUnknown.WithMessage("exec ended without an exit code")
	}
	return *ins.ExitCode, nil
}

func (a criContainers) Attach(ctx context.Context, id string, sio cri.StreamIO) error {
	st := newPipeStream(sio)
	stop := a.forwardResize(sio.Resize, func(h, w uint16) error { return a.s.Resize(context.Background(), id, h, w) })
	defer stop()
	return engineErr(a.s.Attach(ctx, id, containers.AttachOptions{Stdin: sio.Stdin != nil, Stdout: sio.Stdout != nil,
		Stderr: sio.Stderr != nil || (sio.Tty && sio.Stdout != nil), Stream: true}, st))
}

func (a criContainers) forwardResize(ch <-chan cri.TerminalSize, resize func(h, w uint16) error) func() {
	if ch == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sz, ok := <-ch:
				if !ok {
					return
				}
				// Before the process is up the resize fails; the next
				// one (kubectl sends one per SIGWINCH) will do.
				resize(sz.Height, sz.Width)
			}
		}
	}()
	return func() { close(done) }
}

func (a criContainers) Events(ctx context.Context) <-chan cri.ContainerEvent {
	_, ch, cancel := a.events.Subscribe(time.Time{})
	out := make(chan cri.ContainerEvent, 64)
	go func() {
		defer close(out)
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				if m.Type != evtypes.ContainerEventType {
					continue
				}
				select {
				case out <- cri.ContainerEvent{ID: m.Actor.ID, Action: string(m.Action), Time: time.Unix(0, m.TimeNano)}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// pipeStream is the engine's client end of an exec or attach: it reads
// the CRI's stdin and splits the engine's output (Docker's multiplexed
// frames without a TTY) onto stdout and stderr.
type pipeStream struct {
	sio    cri.StreamIO
	mu     sync.Mutex
	buf    []byte
	closed chan struct{}
	once   sync.Once
	// Input is pumped from the client so Read can end at Close.
	pumpOnce sync.Once
	in       chan []byte
	pending  []byte
}

func newPipeStream(sio cri.StreamIO) *pipeStream {
	return &pipeStream{sio: sio, closed: make(chan struct{})}
}

// Read returns the client's input, and EOF once the stream is closed even
// while the client keeps its input open (the engine's stdin copier must end
// when the process has).
func (p *pipeStream) Read(b []byte) (int, error) {
	if p.sio.Stdin == nil {
		<-p.closed
		return 0, io.EOF
	}
	p.pumpOnce.Do(func() {
		p.in = make(chan []byte)
		go func() {
			defer close(p.in)
			for {
				buf := make([]byte, 32*1024)
				n, err := p.sio.Stdin.Read(buf)
				if n > 0 {
					select {
					case p.in <- buf[:n]:
					case <-p.closed:
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	})
	if len(p.pending) == 0 {
		select {
		case chunk, ok := <-p.in:
			if !ok {
				return 0, io.EOF
			}
			p.pending = chunk
		case <-p.closed:
			return 0, io.EOF
		}
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

func (p *pipeStream) Write(b []byte) (int, error) {
	if p.sio.Tty {
		return len(b), p.out(p.sio.Stdout, b)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for len(p.buf) >= 8 {
		n := int(binary.BigEndian.Uint32(p.buf[4:8]))
		if len(p.buf) < 8+n {
			break
		}
		w := p.sio.Stdout
		if p.buf[0] == 2 {
			w = p.sio.Stderr
		}
		if err := p.out(w, p.buf[8:8+n]); err != nil {
			return 0, err
		}
		p.buf = p.buf[8+n:]
	}
	return len(b), nil
}

func (p *pipeStream) out(w io.Writer, b []byte) error {
	if w == nil {
		return nil
	}
	_, err := w.Write(b)
	return err
}

func (p *pipeStream) CloseWrite() error { p.Close(); return nil }

func (p *pipeStream) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// criImages adapts the image service to cri.Images.
type criImages struct {
	s        *images.Service
	registry *distribution.Service
	dir      string
}

func toCRIImage(img *images.Image) cri.Image {
	c := img.Config.Config
	return cri.Image{ID: img.ID, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests, Size: img.Size,
		User: c.User, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd, WorkingDir: c.WorkingDir, Labels: c.Labels}
}

func (a criImages) List(ctx context.Context) ([]cri.Image, error) {
	imgs, err := a.s.List(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]cri.Image, 0, len(imgs))
	for _, img := range imgs {
		out = append(out, toCRIImage(img))
	}
	return out, nil
}

func (a criImages) Get(ctx context.Context, ref string) (*cri.Image, error) {
	img, err := a.s.Resolve(ctx, ref)
	if err != nil {
		return nil, engineErr(err)
	}
	c := toCRIImage(img)
	return &c, nil
}

func (a criImages) Pull(ctx context.Context, ref, auth string) (string, error) {
	if err := a.registry.Pull(ctx, ref, distribution.PullOptions{RegistryAuth: auth}, nil); err != nil {
		return "", engineErr(err)
	}
	img, err := a.s.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

func (a criImages) Tag(ctx context.Context, source, target string) error {
	return engineErr(a.s.Tag(ctx, source, target))
}

func (a criImages) Untag(ctx context.Context, ref string) error {
	_, err := a.s.Delete(ctx, ref, false, false)
	return engineErr(err)
}

func (a criImages) Remove(ctx context.Context, id string) error {
	_, err := a.s.Delete(ctx, id, true, true)
	return engineErr(err)
}

func (a criImages) FsInfo(ctx context.Context) (string, uint64, uint64, error) {
	imgs, err := a.s.List(ctx, true)
	if err != nil {
		return "", 0, 0, err
	}
	var used uint64
	for _, img := range imgs {
		used += uint64(img.Size)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(a.dir, &st); err != nil {
		return "", 0, 0, err
	}
	return a.dir, used, st.Files - st.Ffree, nil
}

// engineErr gives an engine error the containerd/errdefs kind the CRI
// server maps to gRPC codes.
func engineErr(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case berrdefs.IsNotFound(err):
		kind = errdefs.ErrNotFound
	case berrdefs.IsConflict(err):
		kind = errdefs.ErrConflict
	case berrdefs.IsInvalid(err):
		kind = errdefs.ErrInvalidArgument
	default:
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}
