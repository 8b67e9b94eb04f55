package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Result is what one CLI invocation produced.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Exit   int // -1 when it could not run or timed out
}

func (r Result) String() string {
	return fmt.Sprintf("`%s` exit %d\nstdout: %q\nstderr: %q", strings.Join(r.Args, " "), r.Exit, r.Stdout, r.Stderr)
}

// Out is stdout with surrounding white space removed.
func (r Result) Out() string { return strings.TrimSpace(r.Stdout) }

// CLI is one of the two clients the tests drive: `berth` or the real docker.
type CLI struct {
	Name string
	d    *Daemon
}

// Run runs the CLI with args against its daemon (30 s limit: every command
// the tests use finishes in well under a second or two).
func (c CLI) Run(tb testing.TB, args ...string) Result {
	tb.Helper()
	return c.RunIn(tb, nil, args...)
}

// RunIn is Run with stdin.
func (c CLI) RunIn(tb testing.TB, stdin io.Reader, args ...string) Result {
	tb.Helper()
	return c.d.runCmd(c.Path(), c.Env(), stdin, 30*time.Second, args...)
}

// Must runs args, fails tb unless the exit code is 0, returns trimmed stdout.
func (c CLI) Must(tb testing.TB, args ...string) string {
	tb.Helper()
	r := c.Run(tb, args...)
	if r.Exit != 0 {
		tb.Fatalf("%s: %s", c.Name, r)
	}
	return r.Out()
}

// Path is the CLI's executable.
func (c CLI) Path() string {
	switch c.Name {
	case "docker":
		return dockerCLI
	case "crictl":
		return crictlPath
	}
	return filepath.Join(binDir, "berth")
}

// Env points the CLI at its daemon and nothing else.
func (c CLI) Env() []string {
	switch c.Name {
	case "docker":
		return c.d.dockerEnv()
	case "crictl":
		return c.d.crictlEnv()
	}
	return c.d.berthEnv()
}

// StartLines starts the CLI with args in the background (killed when ctx
// ends) and returns it with its stdout's lines, closed at end of output.
func (c CLI) StartLines(tb testing.TB, ctx context.Context, args ...string) (*exec.Cmd, <-chan string) {
	tb.Helper()
	cmd := exec.CommandContext(ctx, c.Path(), args...)
	cmd.Env = c.Env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(out); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// Berth is the `berth` CLI bound to d.
func (d *Daemon) Berth() CLI { return CLI{Name: "berth", d: d} }

// Docker is the real docker CLI bound to d; it skips tb when docker is not
// installed.
func (d *Daemon) Docker(tb testing.TB) CLI {
	tb.Helper()
	if dockerCLI == "" {
		tb.Skip("the docker CLI is not installed")
	}
	return CLI{Name: "docker", d: d}
}

// eachCLI runs f as a subtest once with berth and once with docker (when
// installed). Container names must differ between the two runs: use c.Name.
func eachCLI(t *testing.T, d *Daemon, f func(t *testing.T, c CLI)) {
	t.Helper()
	t.Run("berth", func(t *testing.T) { f(t, d.Berth()) })
	t.Run("docker", func(t *testing.T) { f(t, d.Docker(t)) })
}

func (d *Daemon) berthEnv() []string {
	return append(cleanEnv(), "HOME="+d.Home, "BERTH_HOST=unix://"+d.Sock)
}

func (d *Daemon) dockerEnv() []string {
	return append(cleanEnv(), "HOME="+d.Home, "DOCKER_HOST=unix://"+d.Sock,
		"DOCKER_CONFIG="+filepath.Join(d.Home, ".docker"), "DOCKER_CLI_HINTS=false")
}

func (d *Daemon) runCmd(path string, env []string, stdin io.Reader, limit time.Duration, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	r := Result{Args: append([]string{filepath.Base(path)}, args...)}
	err := cmd.Run()
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Exit = -1
		r.Stderr += fmt.Sprintf("\n[e2e: killed after %v]", limit)
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	case err != nil:
		r.Exit = -1
		r.Stderr += "\n[e2e: " + err.Error() + "]"
	}
	return r
}

var nameSeq atomic.Int64

// uniq returns a container name unique within the run.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}

// Pty is a CLI running on a pseudo-terminal, for -it and attach tests.
type Pty struct {
	tb   testing.TB
	cmd  *exec.Cmd
	f    *os.File
	mu   sync.Mutex
	buf  bytes.Buffer
	pos  int           // Expect consumed output up to here
	wake chan struct{} // closed and replaced on every read
	done chan struct{} // closed when the process exited and output drained
	exit int
}

// StartPty runs the CLI with args on a new 80x24 terminal. The process is
// killed when tb ends, if still running.
func (c CLI) StartPty(tb testing.TB, args ...string) *Pty {
	tb.Helper()
	cmd := exec.Command(c.Path(), args...)
	cmd.Env = append(c.Env(), "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		tb.Fatalf("start %s on a pty: %v", c.Name, err)
	}
	p := &Pty{tb: tb, cmd: cmd, f: f, wake: make(chan struct{}), done: make(chan struct{})}
	go p.read()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		f.Close()
	})
	return p
}

func (p *Pty) read() {
	b := make([]byte, 4096)
	for {
		n, err := p.f.Read(b)
		p.mu.Lock()
		p.buf.Write(b[:n])
		close(p.wake)
		p.wake = make(chan struct{})
		p.mu.Unlock()
		if err != nil {
			break // EIO once the process and its children closed the terminal
		}
	}
	err := p.cmd.Wait()
	p.exit = 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		p.exit = ee.ExitCode()
	} else if err != nil {
		p.exit = -1
	}
	close(p.done)
}

// Write types s.
func (p *Pty) Write(s string) {
	p.tb.Helper()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.tb.Fatalf("writing %q to the pty: %v", s, err)
	}
}

// Expect waits until want appears in output not yet consumed, consumes up
// to its end and returns what was consumed. Fails tb after limit.
func (p *Pty) Expect(want string, limit time.Duration) string {
	p.tb.Helper()
	got, err := p.expect(want, limit)
	if err != nil {
		p.tb.Fatalf("waiting for %q on the pty: %v; output so far:\n%q", want, err, p.Output())
	}
	return got
}

func (p *Pty) expect(want string, limit time.Duration) (string, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		p.mu.Lock()
		rest := p.buf.Bytes()[p.pos:]
		if i := bytes.Index(rest, []byte(want)); i >= 0 {
			got := string(rest[:i+len(want)])
			p.pos += i + len(want)
			p.mu.Unlock()
			return got, nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-p.done:
			p.mu.Lock()
			found := bytes.Contains(p.buf.Bytes()[p.pos:], []byte(want))
			p.mu.Unlock()
			if !found {
				return "", fmt.Errorf("process exited (code %d)", p.exit)
			}
		case <-timer.C:
			return "", errTimeout
		}
	}
}

// Output is everything the terminal showed so far.
func (p *Pty) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// Wait waits for the process to exit and returns its exit code; fails tb
// after limit.
func (p *Pty) Wait(limit time.Duration) int {
	p.tb.Helper()
	select {
	case <-p.done:
		return p.exit
	case <-time.After(limit):
		p.tb.Fatalf("%v did not exit within %v; output:\n%q", p.cmd.Args, limit, p.Output())
		return -1
	}
}

// Kill ends the client abruptly (a client that goes away mid-stream).
func (p *Pty) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// eventually retries f until it returns nil or limit passes; for state the
// daemon reaches asynchronously (a container exiting after a signal).
func eventually(tb testing.TB, limit time.Duration, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	delay := 10 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %v", limit, err)
		}
		time.Sleep(delay)
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
