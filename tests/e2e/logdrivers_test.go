package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/locallog"
	"github.com/berth-dev/berth/internal/logdriver"
	"github.com/berth-dev/berth/internal/logfile"
)

// TestLogDriverLocal runs containers with Docker's compact "local" driver
// and reads them back with logs, --tail, --since, -t and -f.
func TestLogDriverLocal(t *testing.T) {
	d := sharedDaemon(t, "logdrivers")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("local-" + c.Name)
		id := c.Must(t, "run", "--name", name, "--log-driver", "local", "busybox", "sh", "-c", "echo one; sleep 0.2; echo two; echo three >&2")
		_ = id
		if got := c.Must(t, "inspect", "--format", "{{.HostConfig.LogConfig.Type}}", name); got != "local" {
			t.Errorf("LogConfig.Type %q, want local", got)
		}
		full := c.Must(t, "inspect", "--format", "{{.Id}}", name)
		p := filepath.Join(d.DataRoot, "containers", full, "local-logs", locallog.FileName)
		var onDisk []string
		if err := locallog.Read(context.Background(), p, 1, logfile.ReadOptions{Tail: -1}, func(e logfile.Entry) error {
			onDisk = append(onDisk, e.Stream+":"+string(e.Line))
			return nil
		}); err != nil {
			t.Fatalf("reading %s in the local format: %v", p, err)
		}
		// stdout and stderr are separate pipes: only each stream's order is fixed.
		if sorted := slices.Sorted(slices.Values(onDisk)); len(onDisk) != 3 || onDisk[0] != "stdout:one\n" ||
			strings.Join(sorted, "") != "stderr:three\nstdout:one\nstdout:two\n" {
			t.Fatalf("local log file holds %q", onDisk)
		}
		if out := c.Must(t, "logs", name); out != "one\ntwo" {
			t.Errorf("logs: %q", out)
		}
		r := c.Run(t, "logs", "--tail", "1", name)
		if last := onDisk[2]; r.Stdout+r.Stderr != last[strings.Index(last, ":")+1:] {
			t.Errorf("logs --tail 1: %s, want the last entry %q", r, last)
		}
		ts := c.Must(t, "logs", "-t", name)
		tsRe := regexp.MustCompile(`^(\S+) (one|two)$`)
		tl := strings.Split(ts, "\n")
		if len(tl) != 2 || !tsRe.MatchString(tl[0]) || !tsRe.MatchString(tl[1]) {
			t.Fatalf("logs -t: %q", ts)
		}
		t1, err1 := time.Parse(time.RFC3339Nano, tsRe.FindStringSubmatch(tl[0])[1])
		t2, err2 := time.Parse(time.RFC3339Nano, tsRe.FindStringSubmatch(tl[1])[1])
		if err1 != nil || err2 != nil || !t2.After(t1) {
			t.Fatalf("logs -t timestamps: %q", ts)
		}
		mid := t1.Add(t2.Sub(t1) / 2).Format(time.RFC3339Nano)
		if out := c.Must(t, "logs", "--since", mid, name); out != "two" {
			t.Errorf("logs --since %s: %q, want two", mid, out)
		}
		c.Must(t, "rm", name)
	})
}

// TestLogDriverLocalFollowAndRestart follows a running container's local
// log, and checks that output written while berthd is down is kept (the
// monitor writes the log).
func TestLogDriverLocalFollowAndRestart(t *testing.T) {
	d := startDaemon(t)
	c := d.Docker(t)
	name := uniq("follow")
	c.Must(t, "run", "-d", "--name", name, "--log-driver", "local", "busybox", "sh", "-c",
		"echo start; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo middle; while [ ! -e /tmp/end ]; do sleep 0.05; done; echo end")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, lines := c.StartLines(t, ctx, "logs", "-f", name)
	next := func(want string) {
		t.Helper()
		select {
		case l := <-lines:
			if l != want {
				t.Fatalf("logs -f: %q, want %q", l, want)
			}
		case <-ctx.Done():
			t.Fatalf("logs -f: no %q", want)
		}
	}
	next("start")
	c.Must(t, "exec", name, "touch", "/tmp/go")
	next("middle")

	// berthd goes away; the container writes; berthd comes back.
	d.Kill()
	cmd.Wait()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	c.Must(t, "exec", name, "touch", "/tmp/end")
	c.Must(t, "wait", name)
	if got := c.Must(t, "logs", name); got != "start\nmiddle\nend" {
		t.Errorf("logs after a berthd restart: %q", got)
	}
	c.Must(t, "rm", name)
}

// TestLogDriverLocalRotation rotates by max-size into gzipped files and
// keeps max-file of them; logs reads across them.
func TestLogDriverLocalRotation(t *testing.T) {
	d := sharedDaemon(t, "logdrivers")
	c := d.Docker(t)
	name := uniq("rotate")
	c.Must(t, "run", "--name", name, "--log-driver", "local", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
		"busybox", "sh", "-c", "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done")
	full := c.Must(t, "inspect", "--format", "{{.Id}}", name)
	dir := filepath.Join(d.DataRoot, "containers", full, "local-logs")
	// Compression of the newest rotated file runs in the background.
	eventually(t, 10*time.Second, func() error {
		for _, f := range []string{"container.log", "container.log.1.gz", "container.log.2.gz"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return err
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "container.log.1")); err == nil {
			return fmt.Errorf("container.log.1 not compressed yet")
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "container.log.3.gz")); err == nil {
		t.Error("max-file=3 kept a fourth file")
	}
	out := c.Must(t, "logs", name)
	lines := strings.Split(out, "\n")
	if len(lines) >= 400 || lines[len(lines)-1] != "line-399" {
		t.Fatalf("logs after rotation: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	var first int
	fmt.Sscanf(lines[0], "line-%d", &first)
	for i, l := range lines {
		if l != fmt.Sprintf("line-%d", first+i) {
			t.Fatalf("logs after rotation: line %d is %q, want line-%d", i, l, first+i)
		}
	}
	if got := c.Must(t, "logs", "--tail", "3", name); got != "line-397\nline-398\nline-399" {
		t.Errorf("logs --tail 3 after rotation: %q", got)
	}
	c.Must(t, "rm", name)
}

// TestLogDriverSyslog sends a container's output to a unixgram listener the
// test runs, in Docker's local syslog format.
func TestLogDriverSyslog(t *testing.T) {
	d := sharedDaemon(t, "logdrivers")
	sock := filepath.Join(d.Root, uniq("sl")+".sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(sock)
	defer l.Close()
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("syslog-" + c.Name)
		c.Must(t, "run", "--name", name, "--log-driver", "syslog", "--log-opt", "syslog-address=unixgram://"+sock,
			"--log-opt", "tag={{.Name}}", "--log-opt", "syslog-facility=local0", "busybox", "sh", "-c", "echo hello; echo oops >&2")
		l.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		var got []string
		for len(got) < 2 {
			n, err := l.Read(buf)
			if err != nil {
				t.Fatalf("syslog listener: %v (got %q)", err, got)
			}
			got = append(got, string(buf[:n]))
		}
		// local0 = 16: stdout info <134>, stderr err <131>.
		re := regexp.MustCompile(`^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ` + regexp.QuoteMeta(name) + `\[\d+\]: (\w+)$`)
		want := map[string]string{"hello": "134", "oops": "131"}
		for _, m := range got {
			sm := re.FindStringSubmatch(m)
			if sm == nil || want[sm[2]] != sm[1] {
				t.Errorf("syslog message %q, want <pri>Mmm dd hh:mm:ss %s[pid]: text with %v", m, name, want)
				continue
			}
			delete(want, sm[2])
		}
		r := c.Run(t, "logs", name)
		if r.Exit == 0 || !strings.Contains(r.Stderr, "configured logging driver does not support reading") {
			t.Errorf("logs of a syslog container: %s", r)
		}
		if got := c.Must(t, "inspect", "--format", "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"tag\"}}", name); got != "syslog {{.Name}}" {
			t.Errorf("inspect LogConfig: %q", got)
		}
		c.Must(t, "rm", name)
	})
}

// TestLogDriverBadOptions: unknown drivers and options are refused with
// Docker's messages, and drivers the host cannot serve fail at start.
func TestLogDriverBadOptions(t *testing.T) {
	d := sharedDaemon(t, "logdrivers")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--log-driver", "bogus"}, "logger: no log driver named 'bogus' is registered"},
			{[]string{"--log-driver", "local", "--log-opt", "foo=bar"}, "unknown log opt 'foo' for local log driver"},
			{[]string{"--log-opt", "foo=bar"}, "unknown log opt 'foo' for json-file log driver"},
			{[]string{"--log-driver", "local", "--log-opt", "max-size=lots"}, "invalid max-size log option"},
			{[]string{"--log-driver", "local", "--log-opt", "max-file=0"}, "invalid max-file log option"},
			{[]string{"--log-driver", "local", "--log-opt", "compress=maybe"}, "compress"},
			{[]string{"--log-driver", "json-file", "--log-opt", "labels=a"}, "log opt 'labels' is not supported"},
			{[]string{"--log-driver", "syslog", "--log-opt", "syslog-address=carrier://x"}, "unsupported scheme: 'carrier'"},
			{[]string{"--log-driver", "syslog", "--log-opt", "syslog-facility=nope"}, "invalid syslog facility value"},
			{[]string{"--log-driver", "syslog", "--log-opt", "syslog-format=xml"}, "Invalid syslog format"},
			{[]string{"--log-driver", "none", "--log-opt", "max-size=1m"}, "invalid logging opts for driver none"},
		} {
			name := uniq("badlog")
			args := append(append([]string{"create", "--name", name}, tc.args...), "busybox", "true")
			r := c.Run(t, args...)
			if r.Exit == 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%v: %s, want an error with %q", tc.args, r, tc.want)
			}
			if r := c.Run(t, "inspect", name); r.Exit == 0 {
				t.Errorf("%v: the container was created anyway", tc.args)
			}
		}
		if logdriver.CheckJournald() != nil {
			name := uniq("journald")
			r := c.Run(t, "run", "--name", name, "--log-driver", "journald", "busybox", "true")
			if r.Exit != 125 || !strings.Contains(r.Stderr, "failed to initialize logging driver: journald is not enabled on this host") {
				t.Errorf("journald without journald: %s", r)
			}
			c.Run(t, "rm", "-f", name)
		}
		if _, err := os.Stat("/dev/log"); err != nil {
			name := uniq("devlog")
			r := c.Run(t, "run", "--name", name, "--log-driver", "syslog", "busybox", "true")
			if r.Exit != 125 || !strings.Contains(r.Stderr, "failed to initialize logging driver: Unix syslog delivery error") {
				t.Errorf("syslog without a local syslog: %s", r)
			}
			c.Run(t, "rm", "-f", name)
		}
	})
}

// TestLogDriverDaemonDefault: daemon.json's log-driver and log-opts are the
// default for containers that name no driver, merged into their LogConfig
// as Docker does; a bad default stops berthd.
func TestLogDriverDaemonDefault(t *testing.T) {
	d := newStoppedDaemon(t)
	d.addConfig(t, map[string]any{"log-driver": "local", "log-opts": map[string]string{"max-file": "2", "nope": "1"}})
	if err := d.Start(); err == nil {
		t.Fatal("berthd started with an unknown log-opt in daemon.json")
	}
	if log := d.LogTail(20); !strings.Contains(log, "unknown log opt 'nope' for local log driver") {
		t.Errorf("berthd's error does not name the bad log-opt:\n%s", log)
	}
	d.addConfig(t, map[string]any{"log-driver": "local", "log-opts": map[string]string{"max-file": "2"}})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	c := d.Docker(t)
	if got := c.Must(t, "info", "--format", "{{.LoggingDriver}}"); got != "local" {
		t.Errorf("info LoggingDriver %q", got)
	}
	name := uniq("deflog")
	c.Must(t, "run", "--name", name, "busybox", "echo", "hi")
	if got := c.Must(t, "inspect", "--format", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", name); got != `local {"max-file":"2"}` {
		t.Errorf("inspect LogConfig: %q", got)
	}
	if got := c.Must(t, "logs", name); got != "hi" {
		t.Errorf("logs: %q", got)
	}
	// A container naming another driver does not get the default's options.
	other := uniq("jsonlog")
	c.Must(t, "create", "--name", other, "--log-driver", "json-file", "busybox", "true")
	if got := c.Must(t, "inspect", "--format", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", other); got != `json-file {}` && got != "json-file null" {
		t.Errorf("inspect LogConfig of a json-file container: %q", got)
	}
	c.Must(t, "rm", name, other)
}

// TestLogDriverJSONFileRotation: json-file (the C monitor's driver) rotates
// by max-size into gzipped files, keeps max-file of them, and logs reads
// across them; a container's monitor is the C one for json-file and the Go
// one for local, which only the Go monitor implements.
func TestLogDriverJSONFileRotation(t *testing.T) {
	d := sharedDaemon(t, "logdrivers")
	c := d.Docker(t)
	name := uniq("jrotate")
	c.Must(t, "run", "--name", name, "--log-driver", "json-file", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
		"--log-opt", "compress=true", "busybox", "sh", "-c", "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done")
	full := c.Must(t, "inspect", "--format", "{{.Id}}", name)
	logPath := c.Must(t, "inspect", "--format", "{{.LogPath}}", name)
	if filepath.Base(logPath) != full+"-json.log" {
		t.Fatalf("LogPath %q", logPath)
	}
	eventually(t, 10*time.Second, func() error {
		for _, f := range []string{logPath, logPath + ".1.gz", logPath + ".2.gz"} {
			if _, err := os.Stat(f); err != nil {
				return err
			}
		}
		if _, err := os.Stat(logPath + ".1"); err == nil {
			return fmt.Errorf("%s.1 not compressed yet", logPath)
		}
		return nil
	})
	if _, err := os.Stat(logPath + ".3.gz"); err == nil {
		t.Error("max-file=3 kept a fourth file")
	}
	out := c.Must(t, "logs", name)
	lines := strings.Split(out, "\n")
	if len(lines) >= 400 || lines[len(lines)-1] != "line-399" {
		t.Fatalf("logs after rotation: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	var first int
	fmt.Sscanf(lines[0], "line-%d", &first)
	for i, l := range lines {
		if l != fmt.Sprintf("line-%d", first+i) {
			t.Fatalf("logs after rotation: line %d is %q, want line-%d", i, l, first+i)
		}
	}
	c.Must(t, "rm", name)

	// Which monitor serves which container.
	for _, tc := range []struct{ driver, monitor string }{{"json-file", "berth-cmon"}, {"local", "berth-monitor"}, {"none", "berth-cmon"}} {
		n := uniq("mon")
		id := c.Must(t, "run", "-d", "--name", n, "--log-driver", tc.driver, "busybox", "sleep", "1000")
		if got := monitorExe(t, id); got != tc.monitor {
			t.Errorf("a %s container's monitor is %s, want %s", tc.driver, got, tc.monitor)
		}
		c.Must(t, "rm", "-f", n)
	}
}

// monitorExe is the file name of the program serving container id: the
// process whose command line is `MONITOR STATEDIR` with id in STATEDIR.
func monitorExe(t *testing.T, id string) string {
	t.Helper()
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 2 || !strings.Contains(args[1], id) || !strings.HasPrefix(filepath.Base(args[0]), "berth-") {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err == nil {
			return filepath.Base(exe)
		}
	}
	t.Fatalf("no monitor process for container %s", id)
	return ""
}
