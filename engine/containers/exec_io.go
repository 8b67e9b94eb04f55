package containers

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/stdcopy"
)

// execIO is an exec's stdio as berthd holds it. With a TTY: the console
// socket over which the runtime hands the pty master (received in the
// background from before the runtime runs), and the shim's stderr, where a
// refusal by the runtime lands. Without: pipes for stdout and stderr, and
// for stdin when the client attaches it. Its copiers are tracked by out and in, and
// all end with the exec: the output side (and the pty's receiver) with the
// process, the input side with the client's stream.
type execIO struct {
	tty     bool
	console *net.UnixListener
	sock    string
	ptyCh   chan ptyResult

	shimStderr strings.Builder // TTY: the shim's stderr
	outR, errR *os.File        // no TTY: the process's stdout and stderr
	inW        *os.File        // no TTY, stdin attached: the process's stdin
	child      oci.IO          // the shim's stdio
	// parentOwned are the child's ends, closed once the shim has them.
	parentOwned []*os.File

	out, in sync.WaitGroup
}

type ptyResult struct {
	f   *os.File
	err error
}

// newExecIO makes an exec's stdio in dir (a short directory: a socket's
// path must fit in 108 bytes). stdin says whether a client's input goes to
// the process.
func newExecIO(dir string, tty, stdin bool) (*execIO, error) {
	xio := &execIO{tty: tty}
	if tty {
		return xio, xio.listenConsole(dir)
	}
	if err := xio.makePipes(stdin); err != nil {
		xio.close()
		return nil, err
	}
	return xio, nil
}

// listenConsole opens the console socket and receives the pty on it in the
// background.
func (xio *execIO) listenConsole(dir string) error {
	xio.sock = filepath.Join(dir, "c.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: xio.sock, Net: "unix"})
	if err != nil {
		return err
	}
	xio.console = l
	xio.child.Stderr = &xio.shimStderr
	xio.ptyCh = make(chan ptyResult, 1)
	xio.out.Add(1)
	go func() {
		defer xio.out.Done()
		f, err := monitor.RecvConsole(l)
		xio.ptyCh <- ptyResult{f, err}
	}()
	return nil
}

func (xio *execIO) makePipes(stdin bool) error {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	xio.parentOwned = append(xio.parentOwned, devnull)
	xio.child.Stdin = devnull
	if stdin {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		xio.child.Stdin, xio.inW = r, w
		xio.parentOwned = append(xio.parentOwned, r)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	xio.child.Stdout, xio.outR = w, r
	xio.parentOwned = append(xio.parentOwned, w)
	r2, w2, err := os.Pipe()
	if err != nil {
		return err
	}
	xio.child.Stderr, xio.errR = w2, r2
	xio.parentOwned = append(xio.parentOwned, w2)
	return nil
}

// started closes berthd's copies of the shim's ends (the shim has them), so
// that the process's exit shows as EOF.
func (xio *execIO) started() {
	closeFiles(xio.parentOwned...)
	xio.parentOwned = nil
}

// runtimeError is what the runtime said when it refused to start the
// process; call it after the shim exited.
func (xio *execIO) runtimeError() string {
	if xio.tty {
		return strings.TrimSpace(xio.shimStderr.String())
	}
	b, err := io.ReadAll(io.LimitReader(xio.errR, 64<<10))
	if err != nil && len(b) == 0 {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pty waits for the pty master the runtime sends, then closes the console
// socket (it serves one connection).
func (xio *execIO) pty() (*os.File, error) {
	r := <-xio.ptyCh
	xio.console.Close()
	return r.f, r.err
}

// close releases everything and waits for the copiers; the process must
// have ended (or never started).
func (xio *execIO) close() {
	if xio.console != nil {
		xio.console.Close()
	}
	closeFiles(xio.parentOwned...)
	closeFiles(xio.outR, xio.errR, xio.inW)
	xio.out.Wait()
	xio.in.Wait()
	select {
	case r := <-xio.ptyCh: // received but never taken (the exec failed)
		closeFiles(r.f)
	default:
	}
}

// waitOutput waits until the output copiers have seen the end of the
// process's output.
func (xio *execIO) waitOutput() { xio.out.Wait() }

// copyOut copies the process's output to the client (nil: discarded, so
// that the process never blocks on a full pipe).
func (xio *execIO) copyOut(ptmx *os.File, client Stream, stdout, stderr bool) {
	if xio.tty {
		var dst io.Writer = io.Discard
		if client != nil {
			dst = client
		}
		xio.out.Add(1)
		go func() {
			defer xio.out.Done()
			copyPty(dst, ptmx)
		}()
		return
	}
	var wmu sync.Mutex
	pump := func(r *os.File, stream byte, want bool) {
		defer xio.out.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 && client != nil && want {
				wmu.Lock()
				stdcopy.WriteFrame(client, stream, buf[:n])
				wmu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}
	xio.out.Add(2)
	go pump(xio.outR, stdcopy.Stdout, stdout)
	go pump(xio.errR, stdcopy.Stderr, stderr)
}

// copyIn copies the client's input to the process until the client's
// stream ends (ExecStart closes it once the process has ended) or, with a
// TTY, until the detach keys.
func (xio *execIO) copyIn(ptmx *os.File, client Stream, detachKeys []byte) {
	xio.in.Add(1)
	if xio.tty {
		go func() {
			defer xio.in.Done()
			copyStdin(ptmx, client, detachKeys)
		}()
		return
	}
	go func() {
		defer xio.in.Done()
		io.Copy(xio.inW, client)
		xio.inW.Close()
	}()
}

// copyPty copies an exec's pty master to dst until the master ends (EIO
// once every slave is closed), or until the read deadline set when the
// process exited interrupts the wait; then it drains what the pty still
// holds, so output written just before the exit is never lost. A client
// that stops reading does not block the process: its output is discarded.
func copyPty(dst io.Writer, ptmx *os.File) {
	buf := make([]byte, 32*1024)
	write := func(p []byte) {
		if _, err := dst.Write(p); err != nil {
			dst = io.Discard
		}
	}
	for {
		n, err := ptmx.Read(buf)
		if n > 0 {
			write(buf[:n])
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				monitor.DrainAvailable(ptmx, buf, write)
			}
			return
		}
	}
}

// interruptPty makes the pty copier stop waiting once the process is gone:
// the master reads EIO then, unless a background process holds the slave.
// The copier keeps what the pty holds (see copyPty); closing the master
// here instead lost a quick process's whole output (issue 19).
func interruptPty(ptmx *os.File) {
	ptmx.SetReadDeadline(time.Unix(1, 0))
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}
