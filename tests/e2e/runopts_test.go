package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Docker's default capability set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
// SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
// AUDIT_WRITE SETFCAP.
const dockerDefaultCaps = "00000000a80425fb"

func TestRunOptions(t *testing.T) {
	d := sharedDaemon(t, "run")
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# a comment\nX=1\nY=two words\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"-e", "FOO=bar", "busybox", "sh", "-c", "echo $FOO"}, "bar"},
			{[]string{"--env-file", envFile, "busybox", "sh", "-c", `echo "$X-$Y"`}, "1-two words"},
			{[]string{"-w", "/tmp", "busybox", "pwd"}, "/tmp"},
			{[]string{"-w", "/new/dir", "busybox", "pwd"}, "/new/dir"},
			{[]string{"-u", "nobody", "busybox", "id", "-u"}, "65534"},
			{[]string{"-u", "1000:1000", "busybox", "sh", "-c", "id -u; id -g"}, "1000\n1000"},
			{[]string{"--entrypoint", "echo", "busybox", "from", "entrypoint"}, "from entrypoint"},
			{[]string{"-h", "myhost", "busybox", "hostname"}, "myhost"},
			{[]string{"busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t" + dockerDefaultCaps},
			{[]string{"--cap-drop", "ALL", "busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000000000000"},
			{[]string{"--privileged", "busybox", "sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t" + hostCapBnd(t)},
			{[]string{"busybox", "sh", "-c", "echo $HOME; echo $PATH"}, "/root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		} {
			args := append([]string{"run", "--rm"}, tc.args...)
			if r := c.Run(t, args...); r.Exit != 0 || r.Out() != tc.want {
				t.Errorf("want exit 0 and %q, got %s", tc.want, r)
			}
		}

		// -l sets labels.
		l := uniq("label-" + c.Name)
		c.Must(t, "run", "--name", l, "-l", "a=b", "--label", "c=d", "busybox", "true")
		if out := c.Must(t, "inspect", "--format", `{{index .Config.Labels "a"}} {{index .Config.Labels "c"}}`, l); out != "b d" {
			t.Errorf("labels: %q, want \"b d\"", out)
		}
		c.Must(t, "rm", l)

		// --init: PID 1 is the init, not the command.
		if r := c.Run(t, "run", "--rm", "--init", "busybox", "cat", "/proc/1/comm"); r.Exit != 0 || r.Out() == "cat" || r.Out() == "" {
			t.Errorf("run --init: PID 1 is %s, want an init process, not the command", r)
		}
		if r := c.Run(t, "run", "--rm", "busybox", "cat", "/proc/1/comm"); r.Out() != "cat" {
			t.Errorf("run without --init: PID 1 is %s, want the command", r)
		}

		// --read-only: writes to the root fail.
		if r := c.Run(t, "run", "--rm", "--read-only", "busybox", "touch", "/x"); r.Exit == 0 || !strings.Contains(r.Stderr, "Read-only file system") {
			t.Errorf("run --read-only touch /x: %s, want a failure with Read-only file system", r)
		}
		// --privileged allows mounts; the default does not.
		if r := c.Run(t, "run", "--rm", "--privileged", "busybox", "mount", "-t", "tmpfs", "none", "/tmp"); r.Exit != 0 {
			t.Errorf("run --privileged mount -t tmpfs: %s, want success", r)
		}
		if r := c.Run(t, "run", "--rm", "busybox", "mount", "-t", "tmpfs", "none", "/tmp"); r.Exit == 0 {
			t.Errorf("run (unprivileged) mount -t tmpfs: %s, want failure", r)
		}
	})
}

// A container's writes live in its own layer and go away with it.
func TestWritesVanishAfterRm(t *testing.T) {
	d := sharedDaemon(t, "run")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		w := uniq("writer-" + c.Name)
		c.Must(t, "run", "--name", w, "busybox", "sh", "-c", "echo data > /root/file; rm /bin/vi")
		// Started again, the same container keeps its writes: rm /bin/vi fails.
		c.Must(t, "start", w)
		if out := c.Must(t, "wait", w); out != "1" {
			t.Errorf("second start of the writer: exit %q, want 1 (its /bin/vi is already gone)", out)
		}
		c.Must(t, "rm", w)
		if r := c.Run(t, "run", "--rm", "busybox", "cat", "/root/file"); r.Exit == 0 {
			t.Errorf("a new container sees the removed container's file: %s", r)
		}
		if r := c.Run(t, "run", "--rm", "busybox", "ls", "/bin/vi"); r.Exit != 0 {
			t.Errorf("a new container misses a file the removed container deleted: %s", r)
		}
	})
}

func hostCapBnd(t *testing.T) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:\t"); ok {
			return v
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return ""
}
