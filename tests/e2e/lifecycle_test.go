package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLogsOptions(t *testing.T) {
	d := sharedDaemon(t, "life")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("logs-" + c.Name)
		c.Must(t, "run", "--name", name, "busybox", "sh", "-c", "echo one; sleep 0.3; echo two; echo three >&2")
		if out := c.Must(t, "logs", name); out != "one\ntwo" {
			t.Errorf("logs (stdout): %q, want \"one\\ntwo\"", out)
		}
		r := c.Run(t, "logs", "--tail", "2", name)
		if got := r.Stdout + r.Stderr; !strings.Contains(got, "two") || !strings.Contains(got, "three") || strings.Contains(got, "one") {
			t.Errorf("logs --tail 2: %s, want two and three only", r)
		}
		if r.Stderr != "three\n" {
			t.Errorf("logs: stderr %q, want the container's stderr \"three\\n\" on the client's stderr", r.Stderr)
		}
		ts := c.Must(t, "logs", "-t", name)
		tsRe := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (one|two)$`)
		tl := strings.Split(ts, "\n")
		if len(tl) != 2 || !tsRe.MatchString(tl[0]) || !tsRe.MatchString(tl[1]) {
			t.Fatalf("logs -t: %q, want two lines \"<RFC3339Nano> text\"", ts)
		}
		t1, _ := time.Parse(time.RFC3339Nano, tsRe.FindStringSubmatch(tl[0])[1])
		t2, _ := time.Parse(time.RFC3339Nano, tsRe.FindStringSubmatch(tl[1])[1])
		mid := t1.Add(t2.Sub(t1) / 2).Format(time.RFC3339Nano)
		if out := c.Must(t, "logs", "--since", mid, name); out != "two" {
			t.Errorf("logs --since %s (between one and two): %q, want \"two\"", mid, out)
		}
		if out := c.Must(t, "logs", "--since", "1h", name); out != "one\ntwo" {
			t.Errorf("logs --since 1h: %q, want both lines", out)
		}
		if out := c.Must(t, "logs", "--until", mid, name); out != "one" {
			t.Errorf("logs --until %s: %q, want \"one\"", mid, out)
		}
		if out := c.Must(t, "logs", "--until", "0", name); out != "one\ntwo" {
			t.Errorf("logs --until 0 (no limit, as in Docker): %q, want both lines", out)
		}

		// -f follows until the container exits.
		f := uniq("follow-" + c.Name)
		c.Must(t, "run", "-d", "--name", f, "busybox", "sh", "-c", "echo start; sleep 1; echo end")
		start := time.Now()
		if out := c.Must(t, "logs", "-f", f); out != "start\nend" {
			t.Errorf("logs -f: %q, want \"start\\nend\"", out)
		}
		if el := time.Since(start); el > 8*time.Second {
			t.Errorf("logs -f took %v to return after the container exited", el)
		}
		c.Must(t, "rm", name, f)
	})
}

func TestStopKillRestartWait(t *testing.T) {
	d := sharedDaemon(t, "life")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		// sleep as PID 1 ignores SIGTERM: stop -t 1 must SIGKILL after ~1 s.
		s := uniq("stop-" + c.Name)
		c.Must(t, "run", "-d", "--name", s, "busybox", "sleep", "1d")
		start := time.Now()
		c.Must(t, "stop", "-t", "1", s)
		if el := time.Since(start); el < 900*time.Millisecond || el > 6*time.Second {
			t.Errorf("stop -t 1 of a TERM-ignoring container took %v, want about 1 s", el)
		}
		if got := c.Must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", s); got != "exited 137" {
			t.Errorf("after stop -t 1: %q, want \"exited 137\"", got)
		}

		// kill -s delivers the signal; kill (KILL) ends it with 137.
		k := uniq("kill-" + c.Name)
		c.Must(t, "run", "-d", "--name", k, "busybox", "sh", "-c",
			`trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done`)
		eventually(t, 5*time.Second, func() error {
			if out := c.Must(t, "logs", k); !strings.Contains(out, "ready") {
				return fmt.Errorf("container never printed ready: %q", out)
			}
			return nil
		})
		c.Must(t, "kill", "-s", "USR1", k)
		eventually(t, 5*time.Second, func() error {
			if out := c.Must(t, "logs", k); !strings.Contains(out, "got-usr1") {
				return fmt.Errorf("after kill -s USR1, logs: %q, want got-usr1", out)
			}
			return nil
		})
		if st := c.Must(t, "inspect", "--format", "{{.State.Running}}", k); st != "true" {
			t.Errorf("after kill -s USR1 (trapped): Running %q, want true", st)
		}
		c.Must(t, "kill", k)
		if out := c.Must(t, "wait", k); out != "137" {
			t.Errorf("wait after kill: %q, want 137", out)
		}

		// restart runs the command again in the same container.
		r := uniq("restart-" + c.Name)
		c.Must(t, "run", "-d", "--name", r, "busybox", "sh", "-c", "echo started; sleep 1d")
		// run -d returns once the process is started, maybe before its
		// echo: a restart -t 0 then would kill it before it printed.
		eventually(t, 20*time.Second, func() error {
			if out := c.Must(t, "logs", r); out != "started" {
				return fmt.Errorf("logs before restart: %q, want started", out)
			}
			return nil
		})
		pid1 := c.Must(t, "inspect", "--format", "{{.State.Pid}}", r)
		c.Must(t, "restart", "-t", "0", r)
		pid2 := c.Must(t, "inspect", "--format", "{{.State.Pid}} {{.State.Running}}", r)
		if pid2 == pid1+" true" || !strings.HasSuffix(pid2, " true") {
			t.Errorf("restart: pid/running before %q after %q, want a new pid and running", pid1, pid2)
		}
		eventually(t, 20*time.Second, func() error {
			if out := c.Must(t, "logs", r); out != "started\nstarted" {
				return fmt.Errorf("logs after restart: %q, want started twice", out)
			}
			return nil
		})

		// wait prints the exit code.
		w := uniq("wait-" + c.Name)
		c.Must(t, "run", "-d", "--name", w, "busybox", "sh", "-c", "sleep 0.3; exit 5")
		if out := c.Must(t, "wait", w); out != "5" {
			t.Errorf("wait: %q, want 5", out)
		}
		c.Must(t, "rm", "-f", s, k, r, w)
	})
}

func TestInspect(t *testing.T) {
	d := sharedDaemon(t, "life")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("insp-" + c.Name)
		r := c.Run(t, "run", "--name", name, "-e", "FOO=bar", "busybox", "sh", "-c", "exit 9")
		if r.Exit != 9 {
			t.Fatalf("run ... exit 9: %s", r)
		}
		if out := c.Must(t, "inspect", "--format", "{{.State.ExitCode}}", name); out != "9" {
			t.Errorf("inspect --format {{.State.ExitCode}}: %q, want 9", out)
		}
		var list []struct {
			Id      string
			Name    string
			Created string
			Path    string
			Args    []string
			Image   string
			State   struct {
				Status     string
				Running    bool
				ExitCode   int
				StartedAt  string
				FinishedAt string
			}
			Config struct {
				Image string
				Cmd   []string
				Env   []string
			}
			HostConfig map[string]any
		}
		out := c.Must(t, "inspect", name)
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
			t.Fatalf("inspect: want a JSON array of one object, got %v: %s", err, out)
		}
		ci := list[0]
		if !fullID.MatchString(ci.Id) || ci.Name != "/"+name || ci.State.Status != "exited" || ci.State.Running ||
			ci.State.ExitCode != 9 || ci.Config.Image != "busybox" || ci.HostConfig == nil || ci.Path != "sh" ||
			strings.Join(ci.Args, " ") != "-c exit 9" || !strings.HasPrefix(ci.Image, "sha256:") {
			t.Errorf("inspect: unexpected shape/values: %+v", ci)
		}
		if _, err := time.Parse(time.RFC3339Nano, ci.Created); err != nil {
			t.Errorf("inspect: Created %q is not RFC 3339: %v", ci.Created, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, ci.State.FinishedAt); err != nil {
			t.Errorf("inspect: State.FinishedAt %q is not RFC 3339: %v", ci.State.FinishedAt, err)
		}
		// The starter image sets no ENV, so (as with Docker) only the user's.
		if strings.Join(ci.Config.Env, " ") != "FOO=bar" {
			t.Errorf("inspect: Config.Env %v, want [FOO=bar]", ci.Config.Env)
		}
		c.Must(t, "rm", name)
	})
}

func TestExec(t *testing.T) {
	d := sharedDaemon(t, "life")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("exec-" + c.Name)
		c.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "1d")
		if out := c.Must(t, "exec", "-e", "A=1", "-w", "/tmp", name, "sh", "-c", "echo $A; pwd"); out != "1\n/tmp" {
			t.Errorf("exec -e A=1 -w /tmp: %q, want \"1\\n/tmp\"", out)
		}
		if out := c.Must(t, "exec", "-u", "nobody", name, "id", "-u"); out != "65534" {
			t.Errorf("exec -u nobody id -u: %q, want 65534", out)
		}
		if out := c.Must(t, "exec", "-u", "1234:5678", name, "id"); !strings.HasPrefix(out, "uid=1234 gid=5678") {
			t.Errorf("exec -u 1234:5678 id: %q, want uid=1234 gid=5678", out)
		}
		if r := c.RunIn(t, strings.NewReader("piped input\n"), "exec", "-i", name, "cat"); r.Exit != 0 || r.Stdout != "piped input\n" {
			t.Errorf("exec -i cat: %s, want the input back", r)
		}
		if r := c.Run(t, "exec", name, "sh", "-c", "echo err >&2; exit 6"); r.Exit != 6 || r.Stderr != "err\n" {
			t.Errorf("exec sh -c 'echo err >&2; exit 6': %s, want exit 6 and stderr err", r)
		}
		if r := c.Run(t, "exec", name, "nope-not-here"); r.Exit != 127 {
			t.Errorf("exec of a missing command: %s, want exit 127", r)
		}
		c.Must(t, "exec", "-d", name, "sh", "-c", "echo detached > /tmp/marker")
		eventually(t, 5*time.Second, func() error {
			if r := c.Run(t, "exec", name, "cat", "/tmp/marker"); r.Out() != "detached" {
				return fmt.Errorf("exec -d did not run: %s", r)
			}
			return nil
		})
		p := c.StartPty(t, "exec", "-it", name, "sh")
		p.Expect("# ", 10*time.Second)
		p.Write("tty; echo x-$((6*7))\r")
		p.Expect("/dev/pts/", 5*time.Second)
		p.Expect("x-42", 5*time.Second)
		p.Write("exit 3\r")
		if code := p.Wait(10 * time.Second); code != 3 {
			t.Errorf("exec -it sh; exit 3: client exit %d, want 3", code)
		}
		if r := c.Run(t, "exec", uniq("nosuch"), "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "No such container") {
			t.Errorf("exec in a missing container: %s", r)
		}
		stopped := uniq("exec-stopped-" + c.Name)
		c.Must(t, "create", "--name", stopped, "busybox", "true")
		if r := c.Run(t, "exec", stopped, "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "is not running") {
			t.Errorf("exec in a created container: %s, want \"... is not running\"", r)
		}
		c.Must(t, "rm", "-f", name, stopped)
	})
}

func TestTopRenamePause(t *testing.T) {
	d := sharedDaemon(t, "life")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("top-" + c.Name)
		c.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "1d")
		// The runtime's start returns once the init may go on; until it
		// has exec'd, top shows the runtime's command line (as Docker's).
		eventually(t, 10*time.Second, func() error {
			top := c.Must(t, "top", name)
			tl := strings.Split(top, "\n")
			if !strings.Contains(tl[0], "PID") || !strings.Contains(tl[0], "CMD") || !strings.Contains(top, "sleep 1d") {
				return fmt.Errorf("top: want a PID ... CMD header and the sleep process:\n%s", top)
			}
			return nil
		})
		renamed := uniq("renamed-" + c.Name)
		c.Must(t, "rename", name, renamed)
		if out := c.Must(t, "inspect", "--format", "{{.Name}}", renamed); out != "/"+renamed {
			t.Errorf("inspect after rename: %q, want /%s", out, renamed)
		}
		if r := c.Run(t, "container", "inspect", name); r.Exit == 0 || !strings.Contains(r.Stderr, "No such container: "+name) {
			t.Errorf("old name still resolves after rename: %s", r)
		}
		c.Must(t, "pause", renamed)
		if out := c.Must(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}}", renamed); out != "paused true" {
			t.Errorf("after pause: %q, want \"paused true\"", out)
		}
		if r := c.Run(t, "exec", renamed, "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "is paused") {
			t.Errorf("exec in a paused container: %s, want an error saying it is paused", r)
		}
		c.Must(t, "unpause", renamed)
		if out := c.Must(t, "inspect", "--format", "{{.State.Status}} {{.State.Paused}}", renamed); out != "running false" {
			t.Errorf("after unpause: %q, want \"running false\"", out)
		}
		c.Must(t, "exec", renamed, "true")
		c.Must(t, "rm", "-f", renamed)
	})
}

func TestContainerPrune(t *testing.T) {
	d := startDaemon(t) // its own: prune removes every stopped container
	eachCLI(t, d, func(t *testing.T, c CLI) {
		stopped := c.Must(t, "create", "busybox", "true")
		exited := uniq("pruned-" + c.Name)
		c.Must(t, "run", "--name", exited, "busybox", "true")
		exitedID := c.Must(t, "inspect", "--format", "{{.Id}}", exited)
		running := c.Must(t, "run", "-d", "busybox", "sleep", "1d")
		out := c.Must(t, "container", "prune", "-f")
		if !strings.Contains(out, "Deleted Containers:") || !strings.Contains(out, stopped) || !strings.Contains(out, exitedID) ||
			strings.Contains(out, running) || !strings.Contains(out, "Total reclaimed space:") {
			t.Errorf("container prune -f: want both stopped IDs deleted, not the running one, and a total:\n%s", out)
		}
		if left := c.Must(t, "ps", "-aq", "--no-trunc"); left != running {
			t.Errorf("after prune, ps -aq: %q, want only the running %s", left, running)
		}
		c.Must(t, "rm", "-f", running)
	})
}

// TestStats: docker stats and berth stats report a busy container's CPU,
// memory limit and pids.
func TestStats(t *testing.T) {
	d := sharedDaemon(t, "life")
	name := uniq("stats")
	b := d.Berth()
	b.Must(t, "run", "-d", "--name", name, "-m", "32m", "busybox", "sh", "-c", "while true; do :; done")
	defer b.Run(t, "rm", "-f", name)
	eachCLI(t, d, func(t *testing.T, c CLI) {
		out := c.Must(t, "stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", name)
		f := strings.Fields(out)
		if len(f) < 6 || f[0] != name || !strings.HasSuffix(f[1], "%") || f[1] == "0.00%" || f[4] != "32MiB" || f[5] != "1" {
			t.Errorf("%s stats: %q", c.Name, out)
		}
	})
}
