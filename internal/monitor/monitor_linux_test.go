package monitor_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/jsonlog"
	"github.com/berth-dev/berth/internal/monitor"
)

const runcPath = "/usr/sbin/runc"

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// TestMain doubles as the "berthd" that dies in TestMonitorOutlivesParent:
// run with BERTH_MONITOR_TEST_PARENT set, it starts a container and prints
// the pids, then waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_MONITOR_TEST_PARENT") != "" {
		fakeBerthd()
		return
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	if cmonDir != "" {
		os.RemoveAll(cmonDir)
	}
	os.Exit(code)
}

func fakeBerthd() {
	var in struct {
		Binary string
		Cfg    monitor.Config
	}
	if err := json.Unmarshal([]byte(os.Getenv("BERTH_MONITOR_TEST_PARENT")), &in); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	initPid, monPid, err := monitor.Start(context.Background(), in.Binary, in.Cfg)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("%d %d\n", initPid, monPid)
	select {}
}

func needRunc(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat(runcPath); err != nil {
		t.Skip("needs " + runcPath)
	}
	if _, err := os.Stat("/usr/bin/busybox"); err != nil {
		t.Skip("needs /usr/bin/busybox")
	}
}

// monitorBinary builds cmd/berth-monitor once per test run.
func monitorBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "berth-monitor-bin")
		if buildErr != nil {
			return
		}
		// Built as it should ship: static, no cgo (a cgo binary maps libc
		// and uses pthread stacks: more memory per container).
		// BERTH_MONITOR_TEST_RACE=1 builds it with the race detector.
		args := []string{"build", "-trimpath", "-ldflags=-s -w"}
		env := append(os.Environ(), "CGO_ENABLED=0")
		if os.Getenv("BERTH_MONITOR_TEST_RACE") != "" {
			args = append(args, "-race")
			env = append(env, "CGO_ENABLED=1")
		}
		cmd := exec.Command("go", append(args, "-o", filepath.Join(buildDir, "berth-monitor"),
			"github.com/berth-dev/berth/cmd/berth-monitor")...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build berth-monitor: %v\n%s", err, out)
			return
		}
		// The C monitor beside it serves every json-file, cri and none
		// container, as it does under berthd; BERTH_MONITOR_TEST_IMPL=go
		// leaves it out to run these tests against the Go monitor.
		// BERTH_MONITOR_TEST_ASAN=1 builds it with AddressSanitizer.
		if os.Getenv("BERTH_MONITOR_TEST_IMPL") != "go" {
			target := "all"
			if os.Getenv("BERTH_MONITOR_TEST_ASAN") != "" {
				target = "asan"
			}
			cmd := exec.Command("make", "-s", "-C", filepath.Join(repoRoot(), "cmon"), target, "O="+buildDir)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build berth-cmon: %v\n%s", err, out)
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "berth-monitor")
}

type ctr struct {
	t        testing.TB
	cfg      monitor.Config
	runcRoot string
}

func randomID(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newContainer writes a bundle with a busybox rootfs running args.
func newContainer(t testing.TB, args []string, tty bool) *ctr {
	return newContainerSpec(t, args, tty, nil)
}

func newContainerSpec(t testing.TB, args []string, tty bool, edit func(spec map[string]any)) *ctr {
	t.Helper()
	needRunc(t)
	// Build the monitors now, not inside the first Start's deadline: a
	// loaded machine takes longer than that to build them.
	monitorBinary(t)
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "bundle", "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sh", "echo", "cat", "sleep", "stty", "true", "head", "tr"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", n)); err != nil {
			t.Fatal(err)
		}
	}
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": tty,
			"user":     map[string]any{"uid": 0, "gid": 0},
			"args":     args,
			"env":      []string{"PATH=/bin", "TERM=xterm"},
			"cwd":      "/",
		},
		"root":     map[string]any{"path": "rootfs"},
		"hostname": "monitor-test",
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		},
		"linux": map[string]any{
			"namespaces": []map[string]any{{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}},
		},
	}
	if edit != nil {
		edit(spec)
	}
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "bundle", "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &ctr{t: t, runcRoot: filepath.Join(dir, "runc")}
	c.cfg = monitor.Config{
		ID:          randomID(t),
		Runtime:     runcPath,
		RuntimeArgs: []string{"--root", c.runcRoot},
		Bundle:      filepath.Join(dir, "bundle"),
		StateDir:    filepath.Join(dir, "state"),
		LogPath:     filepath.Join(dir, "ctr-json.log"),
		LogMaxFiles: 1,
		Tty:         tty,
	}
	t.Cleanup(func() {
		c.runc("kill", c.cfg.ID, "KILL")
		c.runc("delete", "--force", c.cfg.ID)
		// The monitor's own output: a race report or panic fails the test.
		if b, err := os.ReadFile(filepath.Join(c.cfg.StateDir, monitor.LogFile)); err == nil {
			if bytes.Contains(b, []byte("DATA RACE")) || bytes.Contains(b, []byte("panic:")) {
				t.Errorf("monitor log:\n%s", b)
			}
		}
	})
	return c
}

func (c *ctr) runc(args ...string) (string, error) {
	out, err := exec.Command(c.cfg.Runtime, append(append([]string{}, c.cfg.RuntimeArgs...), args...)...).CombinedOutput()
	return string(out), err
}

func (c *ctr) start() (initPid, monPid int) {
	c.t.Helper()
	bin := monitorBinary(c.t) // built on first use: not within the deadline
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	initPid, monPid, err := monitor.Start(ctx, bin, c.cfg)
	if err != nil {
		c.t.Fatalf("Start: %v", err)
	}
	if initPid <= 0 || monPid <= 0 {
		c.t.Fatalf("Start returned pids %d, %d", initPid, monPid)
	}
	c.t.Cleanup(func() { syscall.Kill(monPid, syscall.SIGKILL) })
	return initPid, monPid
}

// startProcess has the monitor start the created container's process.
func (c *ctr) startProcess() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := monitor.StartContainer(ctx, c.cfg.StateDir); err != nil {
		c.t.Fatalf("StartContainer: %v", err)
	}
}

func (c *ctr) wait() monitor.ExitStatus {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := monitor.Wait(ctx, c.cfg.StateDir)
	if err != nil {
		c.t.Fatalf("Wait: %v", err)
	}
	return st
}

// readFrames splits a multiplexed attach stream into per-stream output.
func readFrames(t *testing.T, r io.Reader) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err != io.EOF {
				t.Fatalf("read frame header: %v", err)
			}
			return out.String(), errb.String()
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("read frame: %v", err)
		}
		switch hdr[0] {
		case 1:
			out.Write(p)
		case 2:
			errb.Write(p)
		default:
			t.Fatalf("bad stream %d", hdr[0])
		}
	}
}

func TestMonitorExitCodeAndLog(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, false)
	initPid, monPid := c.start()
	if pid, err := monitor.Ping(context.Background(), c.cfg.StateDir); err != nil || pid != initPid {
		t.Fatalf("Ping = %d, %v; want %d", pid, err, initPid)
	}
	c.startProcess()
	st := c.wait()
	if st.ExitCode != 3 || st.OOMKilled || st.FinishedAt.IsZero() {
		t.Fatalf("exit status %+v, want code 3", st)
	}
	var got []string
	err := jsonlog.Read(context.Background(), c.cfg.LogPath, 1, jsonlog.ReadOptions{Tail: -1}, func(e jsonlog.Entry) error {
		got = append(got, e.Stream+":"+string(e.Line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The two streams are separate pipes: their relative order is not fixed.
	if len(got) != 2 || !contains(got, "stdout:out\n") || !contains(got, "stderr:err\n") {
		t.Fatalf("log entries %q", got)
	}
	// The monitor exits after the container; its state is gone.
	waitGone(t, monPid)
	rec, err := monitor.ReadExit(c.cfg.StateDir)
	if err != nil || rec.ExitCode != 3 {
		t.Fatalf("ReadExit = %+v, %v", rec, err)
	}
	for _, n := range []string{monitor.AttachSocket, monitor.CtlSocket} {
		if _, err := os.Stat(filepath.Join(c.cfg.StateDir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", n, err)
		}
	}
	if out, err := c.runc("state", c.cfg.ID); err == nil {
		t.Errorf("runtime state left behind: %s", out)
	}
	// Wait after the monitor is gone reads exit.json.
	if st := c.wait(); st.ExitCode != 3 {
		t.Fatalf("Wait after exit = %+v", st)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("monitor %d still running", pid)
}

func TestMonitorAttach(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "sleep 0.2; echo hi; echo oops >&2"}, false)
	c.start()
	ctx := context.Background()
	both, err := monitor.Attach(ctx, c.cfg.StateDir, monitor.AttachOptions{Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer both.Close()
	onlyOut, err := monitor.Attach(ctx, c.cfg.StateDir, monitor.AttachOptions{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer onlyOut.Close()
	c.startProcess()
	both.SetReadDeadline(time.Now().Add(10 * time.Second))
	onlyOut.SetReadDeadline(time.Now().Add(10 * time.Second))
	if o, e := readFrames(t, both); o != "hi\n" || e != "oops\n" {
		t.Fatalf("attach stdout %q stderr %q", o, e)
	}
	if o, e := readFrames(t, onlyOut); o != "hi\n" || e != "" {
		t.Fatalf("stdout-only attach: stdout %q stderr %q", o, e)
	}
	if st := c.wait(); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
}

func TestMonitorStdinOnce(t *testing.T) {
	c := newContainer(t, []string{"cat"}, false)
	c.cfg.OpenStdin, c.cfg.StdinOnce = true, true
	c.start()
	conn, err := monitor.Attach(context.Background(), c.cfg.StateDir, monitor.AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.startProcess()
	if _, err := conn.Write([]byte("hello\nworld\n")); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if o, e := readFrames(t, conn); o != "hello\nworld\n" || e != "" {
		t.Fatalf("cat echoed stdout %q stderr %q", o, e)
	}
	if st := c.wait(); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
}

func TestMonitorTTYResize(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "stty size; echo err >&2"}, true)
	c.start()
	ctx := context.Background()
	if err := monitor.Resize(ctx, c.cfg.StateDir, 33, 101); err != nil {
		t.Fatal(err)
	}
	conn, err := monitor.Attach(ctx, c.cfg.StateDir, monitor.AttachOptions{Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.startProcess()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	// Raw TTY bytes (no frames), with the terminal's CR LF.
	if string(out) != "33 101\r\nerr\r\n" {
		t.Fatalf("tty output %q", out)
	}
	if st := c.wait(); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
	b, _ := os.ReadFile(c.cfg.LogPath)
	if !bytes.Contains(b, []byte(`{"log":"33 101\r\n","stream":"stdout","time":"`)) {
		t.Fatalf("tty log: %s", b)
	}
	// Resize on a container without TTY is an error.
	c2 := newContainer(t, []string{"true"}, false)
	c2.start()
	if err := monitor.Resize(ctx, c2.cfg.StateDir, 10, 10); err == nil {
		t.Fatal("resize without a TTY succeeded")
	}
	if err := monitor.CloseStdin(ctx, c2.cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	c2.startProcess()
	c2.wait()
}

func TestMonitorExecNotFound(t *testing.T) {
	c := newContainer(t, []string{"nope"}, false)
	_, _, err := monitor.Start(context.Background(), monitorBinary(t), c.cfg)
	if err == nil {
		c.startProcess()
		t.Fatal("Start of a missing executable succeeded")
	}
	t.Logf("runc create error: %v", err)
	if !strings.Contains(err.Error(), "executable file not found") {
		t.Fatalf("error %q does not say the executable was not found", err)
	}
	var re *monitor.RuntimeError
	if !errors.As(err, &re) || re.Op != "create" {
		t.Fatalf("error %T is not a create *RuntimeError", err)
	}
	if out, err := c.runc("state", c.cfg.ID); err == nil {
		t.Fatalf("runtime state left behind: %s", out)
	}
	if _, err := monitor.ReadExit(c.cfg.StateDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("exit status recorded for a container that never ran: %v", err)
	}
}

// A runtime that cannot be executed is reported by path, and Start leaves
// nothing recorded (the C monitor runs the runtime through posix_spawn
// and falls back to fork, whose child says why the exec failed).
func TestMonitorRuntimeMissing(t *testing.T) {
	c := newContainer(t, []string{"true"}, false)
	c.cfg.Runtime = filepath.Join(t.TempDir(), "no-such-runtime")
	_, _, err := monitor.Start(context.Background(), monitorBinary(t), c.cfg)
	if err == nil {
		t.Fatal("Start with a missing runtime succeeded")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), c.cfg.Runtime) || !strings.Contains(strings.ToLower(err.Error()), "no such file") {
		t.Fatalf("error %q does not name the missing runtime", err)
	}
	if _, err := monitor.ReadExit(c.cfg.StateDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("exit status recorded for a container that never ran: %v", err)
	}
}

// The monitor and the container outlive the process that started them;
// a fresh process finds them by the state directory.
func TestMonitorOutlivesParent(t *testing.T) {
	c := newContainer(t, []string{"sleep", "1000"}, false)
	arg, _ := json.Marshal(map[string]any{"Binary": monitorBinary(t), "Cfg": c.cfg})
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), "BERTH_MONITOR_TEST_PARENT="+string(arg))
	stdout, _ := parent.StdoutPipe()
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	var initPid, monPid int
	line := make([]byte, 128)
	n, _ := stdout.Read(line)
	if _, err := fmt.Sscanf(string(line[:n]), "%d %d", &initPid, &monPid); err != nil {
		parent.Process.Kill()
		parent.Wait()
		t.Fatalf("fake berthd said %q", line[:n])
	}
	t.Cleanup(func() { syscall.Kill(monPid, syscall.SIGKILL) })
	c.startProcess()
	parent.Process.Kill() // berthd SIGKILLed
	parent.Wait()

	ctx := context.Background()
	if pid, err := monitor.Ping(ctx, c.cfg.StateDir); err != nil || pid != initPid {
		t.Fatalf("Ping after parent death = %d, %v; want %d", pid, err, initPid)
	}
	logMemory(t, monPid)

	type res struct {
		st  monitor.ExitStatus
		err error
	}
	ch := make(chan res, 1)
	go func() {
		st, err := monitor.Wait(ctx, c.cfg.StateDir)
		ch <- res{st, err}
	}()
	// A cancelled Wait returns; the monitor keeps serving others.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, err := monitor.Wait(cctx, c.cfg.StateDir); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with expired context = %v", err)
	}
	cancel()
	if out, err := c.runc("kill", c.cfg.ID, "KILL"); err != nil {
		t.Fatalf("runc kill: %v %s", err, out)
	}
	select {
	case r := <-ch:
		if r.err != nil || r.st.ExitCode != 137 {
			t.Fatalf("Wait = %+v, %v; want 137", r.st, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after the container was killed")
	}
	waitGone(t, monPid)
}

func logMemory(t *testing.T, pid int) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		t.Logf("smaps_rollup: %v", err)
		return
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "Rss:" || f[0] == "Pss:" || f[0] == "Private_Dirty:" || f[0] == "Anonymous:") {
			keep = append(keep, f[0]+f[1]+"kB")
		}
	}
	t.Logf("idle monitor %d memory: %s", pid, strings.Join(keep, " "))
}

// A monitor killed outright leaves no exit status: Wait says so.
func TestMonitorKilled(t *testing.T) {
	c := newContainer(t, []string{"sleep", "1000"}, false)
	_, monPid := c.start()
	c.startProcess()
	syscall.Kill(monPid, syscall.SIGKILL)
	waitGone(t, monPid)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := monitor.Wait(ctx, c.cfg.StateDir); !errors.Is(err, monitor.ErrNoMonitor) {
		t.Fatalf("Wait with a dead monitor = %v, want ErrNoMonitor", err)
	}
	if _, err := monitor.Ping(ctx, c.cfg.StateDir); err == nil {
		t.Fatal("Ping of a dead monitor succeeded")
	}
}

// TestMonitorIdleMemory measures idle monitors: set BERTH_MONITOR_MEMTEST=N
// to run N sleeping containers and log the average RSS/PSS per monitor.
func TestMonitorIdleMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BERTH_MONITOR_MEMTEST"))
	if n <= 0 {
		t.Skip("set BERTH_MONITOR_MEMTEST=N to measure N idle monitors")
	}
	exec.Command("sync").Run() // a freshly built binary's dirty page cache would count as private
	var pids []int
	for i := 0; i < n; i++ {
		c := newContainer(t, []string{"sleep", "1000"}, i%2 == 1)
		_, mp := c.start()
		c.startProcess()
		pids = append(pids, mp)
	}
	time.Sleep(2 * time.Second) // idle
	if h, _ := strconv.Atoi(os.Getenv("BERTH_MONITOR_MEMTEST_HOLD")); h > 0 {
		t.Logf("monitor pids %v; holding %ds", pids, h)
		time.Sleep(time.Duration(h) * time.Second)
	}
	sum := map[string]int{}
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.Atoi(f[1])
				sum[strings.TrimSuffix(f[0], ":")] += v
			}
		}
		if th, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task"); err == nil {
			sum["Threads"] += len(th)
		}
	}
	var parts []string
	for _, k := range []string{"Rss", "Pss", "Pss_Anon", "Pss_File", "Private_Clean", "Private_Dirty", "Anonymous", "Threads"} {
		parts = append(parts, fmt.Sprintf("%s=%d", k, sum[k]/n))
	}
	t.Logf("average over %d idle monitors (kB): %s", n, strings.Join(parts, " "))
}

// BenchmarkRunTrue times the monitor's part of `run --rm busybox true`:
// Start (runtime create and start), Wait.
func BenchmarkRunTrue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := newContainer(b, []string{"true"}, false)
		c.cfg.Start = true
		b.StartTimer()
		ctx := context.Background()
		_, _, err := monitor.Start(ctx, monitorBinary(b), c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		if st, err := monitor.Wait(ctx, c.cfg.StateDir); err != nil || st.ExitCode != 0 {
			b.Fatalf("%+v %v", st, err)
		}
	}
}

// A client that never reads must not hold up the container or its log.
func TestMonitorSlowClientDropped(t *testing.T) {
	// 4 MiB of output, far beyond the client queue and socket buffers.
	line := strings.Repeat("0123456789abcdef", 64) // 1024 bytes + newline
	c := newContainer(t, []string{"sh", "-c", "i=0; while [ $i -lt 4096 ]; do echo " + line + "; i=$((i+1)); done"}, false)
	c.start()
	stuck, err := monitor.Attach(context.Background(), c.cfg.StateDir, monitor.AttachOptions{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	c.startProcess()
	if st := c.wait(); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
	n := 0
	err = jsonlog.Read(context.Background(), c.cfg.LogPath, 1, jsonlog.ReadOptions{Tail: -1}, func(e jsonlog.Entry) error {
		if len(e.Line) != 1025 {
			return fmt.Errorf("entry of %d bytes", len(e.Line))
		}
		n++
		return nil
	})
	if err != nil || n != 4096 {
		t.Fatalf("log has %d full lines (%v), want 4096", n, err)
	}
	// The client was dropped: what it can still read ends well short of
	// the 4 MiB written.
	stuck.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.Copy(io.Discard, stuck)
	if got >= 4096*1025 {
		t.Fatalf("stuck client received all %d bytes", got)
	}
}

func TestMonitorTTYStdin(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "read x; echo got $x"}, true)
	c.cfg.OpenStdin = true
	c.start()
	conn, err := monitor.Attach(context.Background(), c.cfg.StateDir, monitor.AttachOptions{Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.startProcess()
	if _, err := conn.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, _ := io.ReadAll(conn)
	// The terminal echoes the input, then the answer.
	if string(out) != "hi\r\ngot hi\r\n" {
		t.Fatalf("tty output %q", out)
	}
	if st := c.wait(); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
}

func TestMonitorOOMKilled(t *testing.T) {
	c := newContainerSpec(t, []string{"sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"}, false,
		func(spec map[string]any) {
			spec["linux"].(map[string]any)["resources"] = map[string]any{
				"memory": map[string]any{"limit": 16 << 20, "swap": 16 << 20},
			}
		})
	c.start()
	c.startProcess()
	st := c.wait()
	if !st.OOMKilled || st.ExitCode != 137 {
		t.Fatalf("exit %+v, want OOM-killed 137", st)
	}
}

// A process that exits at once is reaped by the monitor while runc start may
// still be about to remove its exec.fifo: the monitor, which runs the start,
// deletes the container only after it returned, and start reports success
// (it failed about one time in ten when the test ran runc start itself).
func TestMonitorStartRacesExit(t *testing.T) {
	for i := 0; i < 40; i++ {
		c := newContainer(t, []string{"true"}, i%2 == 0)
		c.start()
		c.startProcess()
		if st := c.wait(); st.ExitCode != 0 {
			t.Fatalf("run %d: exit %+v", i, st)
		}
	}
}

// repoRoot is the repository's top directory (tests run in the package's).
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "../.."
	}
	return filepath.Join(wd, "..", "..")
}

// TestMonitorBinaryChoice: a json-file container runs under the C monitor
// when it is installed beside berth-monitor; a syslog, journald or local
// one under the Go monitor, which implements those drivers.
func TestMonitorBinaryChoice(t *testing.T) {
	goMon := monitorBinary(t)
	cMon := filepath.Join(filepath.Dir(goMon), monitor.CMonitorName)
	want := cMon
	if os.Getenv("BERTH_MONITOR_TEST_IMPL") == "go" {
		want = goMon
	}
	for _, driver := range []string{"", "json-file", "cri", "none"} {
		if got := monitor.Binary(goMon, monitor.Config{LogDriver: driver}); got != want {
			t.Errorf("Binary(%q) = %s, want %s", driver, got, want)
		}
	}
	for _, driver := range []string{"syslog", "journald", "local", "nope"} {
		if got := monitor.Binary(goMon, monitor.Config{LogDriver: driver}); got != goMon {
			t.Errorf("Binary(%q) = %s, want the Go monitor %s", driver, got, goMon)
		}
	}
	if got := monitor.Binary("/nonexistent/berth-monitor", monitor.Config{}); got != "/nonexistent/berth-monitor" {
		t.Errorf("Binary without a C monitor installed = %s", got)
	}

	c := newContainer(t, []string{"sleep", "1000"}, false)
	_, monPid := c.start()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(monPid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	if exe != want {
		t.Fatalf("monitor runs %s, want %s", exe, want)
	}
}

// With Config.Start the monitor starts the container itself; attach
// connections handed over at launch see all its output, carry stdin, and
// are not inherited by the container.
func TestMonitorStartAttached(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "read l; echo got $l; echo err >&2; ls /proc/self/fd; exit 3"}, false)
	c.cfg.Start = true
	c.cfg.OpenStdin, c.cfg.StdinOnce = true, true
	c.cfg.Attach = []monitor.AttachOptions{{Stdin: true, Stdout: true, Stderr: true}, {Stderr: true}}
	bin := monitorBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, monPid, conns, err := monitor.StartAttached(ctx, bin, c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(monPid, syscall.SIGKILL) })
	if len(conns) != 2 {
		t.Fatalf("%d connections, want 2", len(conns))
	}
	for _, conn := range conns {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(15 * time.Second))
	}
	if _, err := conns[0].Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	conns[0].CloseWrite()
	out, errOut := readFrames(t, conns[0])
	if out != "got hello\n0\n1\n2\n3\n" || errOut != "err\n" {
		// fd 3 is ls's own directory; a handed-over attach socket or the
		// sync pipe would show as 4 and up.
		t.Errorf("first client: stdout %q stderr %q", out, errOut)
	}
	out2, errOut2 := readFrames(t, conns[1])
	if out2 != "" || errOut2 != "err\n" {
		t.Errorf("stderr-only client: stdout %q stderr %q", out2, errOut2)
	}
	if st := c.wait(); st.ExitCode != 3 {
		t.Fatalf("exit %+v, want 3", st)
	}
	if err := monitor.StartContainer(ctx, c.cfg.StateDir); err == nil {
		t.Error("StartContainer after the container exited succeeded")
	}
}

// A container is started once: a second start is refused and harms nothing.
func TestMonitorStartOnce(t *testing.T) {
	c := newContainer(t, []string{"sleep", "1000"}, false)
	c.cfg.Start = true
	initPid, monPid := c.start()
	ctx := context.Background()
	// A container that outlives the first moments is served from the Go
	// monitor's second, smaller image (a short-lived one is finished by the
	// first). The C monitor has one image.
	deadline := time.Now().Add(10 * time.Second)
	for monitor.Binary(monitorBinary(t), c.cfg) == monitorBinary(t) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", monPid))
		if bytes.HasSuffix(b, []byte("\x00serve\x00")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor of a running container did not re-exec to serve: cmdline %q", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := monitor.StartContainer(ctx, c.cfg.StateDir)
	if err == nil || !strings.Contains(err.Error(), "already started") {
		t.Fatalf("second start: %v, want already started", err)
	}
	if pid, err := monitor.Ping(ctx, c.cfg.StateDir); err != nil || pid != initPid {
		t.Fatalf("after a refused start: Ping = %d, %v; want %d", pid, err, initPid)
	}
}

// TestMonitorRestartAtOnce: the monitor reports a run's exit before the
// runtime's delete of it, so a new run of the same container started right
// after the report (docker restart, a restart policy) meets that delete:
// its monitor waits for the previous one's lock (monitor.LockFile) instead
// of failing on the state still there, and once the lock is free the
// runtime holds no state of the container. With runc and crun.
func TestMonitorRestartAtOnce(t *testing.T) {
	runtimes := []string{runcPath}
	if p, err := exec.LookPath("crun"); err == nil {
		runtimes = append(runtimes, p)
	}
	for _, rt := range runtimes {
		t.Run(filepath.Base(rt), func(t *testing.T) {
			c := newContainer(t, []string{"sh", "-c", "echo hi; exit 7"}, false)
			c.cfg.Runtime, c.cfg.Start = rt, true
			for i := 0; i < 8; i++ {
				c.start()
				if st := c.wait(); st.ExitCode != 7 {
					t.Fatalf("run %d: exit %+v, want 7", i, st)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			release, err := monitor.Hold(ctx, c.cfg.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if out, err := c.runc("state", c.cfg.ID); err == nil {
				t.Fatalf("runtime state left once the monitor let go of the lock: %s", out)
			}
		})
	}
}

// TestMonitorExitNoSync: with Config.ExitNoSync (a --rm container) both
// monitors still record the exit status, and Wait reads it once the
// monitor is gone.
func TestMonitorExitNoSync(t *testing.T) {
	for _, driver := range []string{"", "local"} { // the C monitor, the Go one
		t.Run("driver="+driver, func(t *testing.T) {
			c := newContainer(t, []string{"sh", "-c", "exit 5"}, false)
			c.cfg.ExitNoSync = true
			c.cfg.LogDriver = driver
			_, monPid := c.start()
			c.startProcess()
			if st := c.wait(); st.ExitCode != 5 {
				t.Fatalf("exit status %+v, want code 5", st)
			}
			waitGone(t, monPid)
			rec, err := monitor.ReadExit(c.cfg.StateDir)
			if err != nil || rec.ExitCode != 5 {
				t.Fatalf("ReadExit = %+v, %v", rec, err)
			}
			if st := c.wait(); st.ExitCode != 5 {
				t.Fatalf("Wait after exit = %+v", st)
			}
		})
	}
}

// TestMonitorRequestLines: the monitor takes a request line however it
// arrives (in pieces, or with an attach client's stdin in the same write)
// without reading past its newline, and drops a connection whose line is
// too long while still serving the others.
func TestMonitorRequestLines(t *testing.T) {
	c := newContainer(t, []string{"cat"}, false)
	c.cfg.OpenStdin, c.cfg.StdinOnce = true, true
	initPid, _ := c.start()
	dial := func(name string) *net.UnixConn {
		conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(c.cfg.StateDir, name), Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		return conn
	}
	// readAck reads the reply line byte by byte: output frames follow it.
	readAck := func(conn *net.UnixConn) string {
		var line []byte
		b := make([]byte, 1)
		for {
			if _, err := io.ReadFull(conn, b); err != nil {
				t.Fatalf("read reply: %v (so far %q)", err, line)
			}
			if b[0] == '\n' {
				return string(line)
			}
			line = append(line, b[0])
		}
	}

	ctl := dial(monitor.CtlSocket)
	for _, part := range []string{`{"op"`, `:"ping`, "\"}\n"} {
		if _, err := ctl.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := readAck(ctl), fmt.Sprintf(`{"pid":%d}`, initPid); got != want {
		t.Fatalf("ping sent in three writes: reply %q, want %q", got, want)
	}

	long := dial(monitor.CtlSocket)
	if _, err := long.Write(bytes.Repeat([]byte("x"), 8192)); err != nil {
		t.Fatal(err)
	}
	if n, err := long.Read(make([]byte, 64)); err == nil {
		t.Fatalf("a request line of 8 KiB without newline was answered (%d bytes), want the connection dropped", n)
	}

	att := dial(monitor.AttachSocket)
	if _, err := att.Write([]byte("{\"stdin\":true,\"stdout\":true,\"stderr\":true}\nhello\nworld\n")); err != nil {
		t.Fatal(err)
	}
	if got := readAck(att); got != "{}" {
		t.Fatalf("attach ack %q", got)
	}
	c.startProcess()
	if err := att.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if o, e := readFrames(t, att); o != "hello\nworld\n" || e != "" {
		t.Fatalf("stdin sent with the attach header: cat echoed stdout %q stderr %q", o, e)
	}
	if st := c.wait(); st.ExitCode != 0 {
		t.Fatalf("exit %+v", st)
	}
}
