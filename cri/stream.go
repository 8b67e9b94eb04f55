package cri

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

// ExecSync runs a command and returns its output, killed at the timeout.
func (s *Server) ExecSync(ctx context.Context, r *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	if len(r.Cmd) == 0 {
		return nil, invalid("exec needs a command")
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(r.Timeout)*time.Second)
		defer cancel()
	}
	var stdout, stderr limitedBuffer
	code, err := s.ctrs.Exec(ctx, c.ID, StreamIO{Cmd: r.Cmd, Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, status.Errorf(codes.DeadlineExceeded, "command %q timed out after %ds", r.Cmd, r.Timeout)
		}
		return nil, grpcErr(err)
	}
	return &runtimeapi.ExecSyncResponse{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int32(code)}, nil
}

// maxExecSyncOutput bounds what ExecSync keeps of each stream (kubelet's
// probes read at most 10 KiB; 16 MiB is containerd's cap).
const maxExecSyncOutput = 16 << 20

type limitedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxExecSyncOutput - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// Exec hands out a streaming URL for an interactive exec.
func (s *Server) Exec(ctx context.Context, r *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	if len(r.Cmd) == 0 {
		return nil, invalid("exec needs a command")
	}
	if !r.Stdin && !r.Stdout && !r.Stderr {
		return nil, invalid("one of stdin, stdout, or stderr must be set")
	}
	if r.Tty && r.Stderr {
		return nil, invalid("tty and stderr cannot both be true")
	}
	r.ContainerId = c.ID
	resp, err := s.stream.GetExec(r)
	return resp, grpcErr(err)
}

// Attach hands out a streaming URL to attach to the main process.
func (s *Server) Attach(ctx context.Context, r *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	c, err := s.lookupContainer(r.ContainerId)
	if err != nil {
		return nil, err
	}
	if !r.Stdin && !r.Stdout && !r.Stderr {
		return nil, invalid("one of stdin, stdout, or stderr must be set")
	}
	r.ContainerId = c.ID
	resp, err := s.stream.GetAttach(r)
	return resp, grpcErr(err)
}

// PortForward hands out a streaming URL to forward ports into the pod.
func (s *Server) PortForward(ctx context.Context, r *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	sb, err := s.lookupSandbox(r.PodSandboxId)
	if err != nil {
		return nil, err
	}
	r.PodSandboxId = sb.ID
	resp, err := s.stream.GetPortForward(r)
	return resp, grpcErr(err)
}

// streamRuntime serves the streaming server's requests.
type streamRuntime struct{ s *Server }

func resizeChan(ctx context.Context, in <-chan remotecommand.TerminalSize) <-chan TerminalSize {
	if in == nil {
		return nil
	}
	out := make(chan TerminalSize)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case sz, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- TerminalSize{Width: sz.Width, Height: sz.Height}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func optWriter(w io.WriteCloser) io.Writer {
	if w == nil {
		return nil
	}
	return w
}

func optReader(r io.Reader) io.Reader {
	if r == nil {
		return nil
	}
	return r
}

func (rt streamRuntime) Exec(ctx context.Context, id string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	code, err := rt.s.ctrs.Exec(ctx, id, StreamIO{Cmd: cmd, Tty: tty, Stdin: optReader(in), Stdout: optWriter(out), Stderr: optWriter(errw), Resize: resizeChan(ctx, resize)})
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError(code)
	}
	return nil
}

func (rt streamRuntime) Attach(ctx context.Context, id string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return rt.s.ctrs.Attach(ctx, id, StreamIO{Tty: tty, Stdin: optReader(in), Stdout: optWriter(out), Stderr: optWriter(errw), Resize: resizeChan(ctx, resize)})
}

// PortForward connects stream to port on the pod's loopback, from inside
// its network namespace.
func (rt streamRuntime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	sb, err := rt.s.lookupSandbox(sandboxID)
	if err != nil {
		return err
	}
	conn, err := dialInNetns(ctx, sb.Namespaces["network"], "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		return fmt.Errorf("port forward to port %d of pod %s: %w", port, sb.ID, err)
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(conn, stream); conn.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(stream, conn); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// dialInNetns dials addr from inside the network namespace at nsPath (""
// is the host's): the socket belongs to the namespace it was made in.
func dialInNetns(ctx context.Context, nsPath, addr string) (net.Conn, error) {
	if nsPath == "" {
		var d net.Dialer
		return d.DialContext(ctx, "tcp4", addr)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(nsPath)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp4", addr)
		// Only a thread back in its own namespace returns to the pool; one
		// that cannot is left locked and exits with the goroutine.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// exitError makes the streaming server report a non-zero exit code.
type exitError int

func (e exitError) Error() string   { return fmt.Sprintf("command terminated with exit code %d", int(e)) }
func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return int(e) }
