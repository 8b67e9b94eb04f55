package daemontest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Berthd says how to run one berthd: its binary, roots and configuration.
type Berthd struct {
	Bin      string // path of berthd (berth-monitor must sit beside it)
	Sock     string
	DataRoot string
	ExecRoot string
	Pidfile  string
	Config   string   // daemon.json
	LogPath  string   // stdout and stderr are appended here
	Env      []string // the whole environment
	Args     []string // more flags (-D ...)
}

// Proc is a started berthd.
type Proc struct {
	Cmd  *exec.Cmd
	Done chan struct{} // closed when the process has exited
}

// Start runs berthd with b's roots and configuration (see Run).
func (b Berthd) Start(limit time.Duration) (*Proc, error) {
	args := append([]string{"-H", "unix://" + b.Sock, "--data-root", b.DataRoot, "--exec-root", b.ExecRoot,
		"--pidfile", b.Pidfile, "--config-file", b.Config}, b.Args...)
	return Run(b.Bin, args, b.Env, b.LogPath, b.Sock, limit)
}

// Run starts bin (berthd) with args in its own process group (a ^C on go
// test must not reach it first), its output appended to logPath, and waits
// up to limit until it answers /_ping on sock. The process is returned
// whenever it started, answering or not: the caller stops it.
func Run(bin string, args, env []string, logPath, sock string, limit time.Duration) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start berthd: %v", err)
	}
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.Done) }()
	return p, WaitPing(sock, p.Done, limit, logPath)
}

// Running reports whether the process is still alive.
func (p *Proc) Running() bool {
	select {
	case <-p.Done:
		return false
	default:
		return true
	}
}

// WaitPing polls the socket's /_ping (with a growing backoff, up to limit)
// until berthd answers 200; done closing first means berthd exited.
func WaitPing(sock string, done <-chan struct{}, limit time.Duration, logPath string) error {
	deadline := time.Now().Add(limit)
	backoff := 2 * time.Millisecond
	client := UnixClient(sock, 5*time.Second)
	for {
		err := Ping(client)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("berthd exited before answering /_ping; log:\n%s", LogTail(logPath, 40))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("berthd did not answer /_ping within %v (last error: %v); log:\n%s", limit, err, LogTail(logPath, 40))
		}
		time.Sleep(backoff) // polling for start-up, with a deadline
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// Ping asks berthd's /_ping through client.
func Ping(client *http.Client) error {
	resp, err := client.Get("http://berth/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("/_ping: HTTP %d", resp.StatusCode)
	}
	return nil
}

// UnixClient talks HTTP to the unix socket sock (URLs like
// http://berth/v1.47/info), one connection a request.
func UnixClient(sock string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "unix", sock)
			},
			DisableKeepAlives: true,
		},
	}
}

// LogTail returns the last n lines of the file at path.
func LogTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RepoRoot is the folder of the module the tests run in.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// MakeBuild builds the named binaries (berthd, berth, berth-monitor,
// berth-cmon ...) of the repository at repo into dir with its Makefile, so
// that tests run the binaries the product ships: the same flags, berth and
// berth-monitor static (CGO_ENABLED=0), berth-monitor stripped.
func MakeBuild(repo, dir string, names ...string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	args := []string{"-s", "-j2", "-C", repo, "BINDIR=" + abs}
	for _, n := range names {
		args = append(args, filepath.Join(abs, n))
	}
	if out, err := exec.Command("make", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("make %s: %v\n%s", strings.Join(names, " "), err, out)
	}
	return nil
}

// Build builds the commands pkgs (./cmd/berthd ...) of the repository at
// repo into dir, with ldflags when not empty: for test programs; the
// product's binaries come from MakeBuild.
func Build(repo, dir, ldflags string, pkgs ...string) error {
	args := []string{"build", "-trimpath"}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(append(args, "-o", dir+"/"), pkgs...)...)
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}
