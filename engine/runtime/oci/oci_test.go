package oci

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGlobalArgs(t *testing.T) {
	r := &CLI{Path: "/bin/crun", Root: "/run/rt", Args: []string{"--systemd-cgroup"}, Log: "/s/log.json", LogFormat: "json"}
	want := []string{"--root", "/run/rt", "--systemd-cgroup", "--log", "/s/log.json", "--log-format", "json"}
	if got := r.GlobalArgs(); !reflect.DeepEqual(got, want) {
		t.Errorf("GlobalArgs = %q, want %q", got, want)
	}
	// The monitor passes the root inside Args.
	r = &CLI{Path: "/bin/crun", Args: []string{"--root", "/x"}}
	if got := r.GlobalArgs(); !reflect.DeepEqual(got, []string{"--root", "/x"}) {
		t.Errorf("GlobalArgs without Root = %q", got)
	}
}

func TestVerbArgs(t *testing.T) {
	cases := []struct {
		name string
		got  []string
		want []string
	}{
		{"create", createArgs("c1", &CreateOpts{Bundle: "/b", PidFile: "/b/pid"}),
			[]string{"create", "--bundle", "/b", "--pid-file", "/b/pid", "c1"}},
		{"create tty", createArgs("c1", &CreateOpts{Bundle: "/b", ConsoleSocket: "console.sock"}),
			[]string{"create", "--bundle", "/b", "--console-socket", "console.sock", "c1"}},
		{"kill", killArgs("c1", &KillOpts{Signal: 15}), []string{"kill", "c1", "15"}},
		{"kill all", killArgs("c1", &KillOpts{Signal: 9, All: true}), []string{"kill", "--all", "c1", "9"}},
		{"delete", deleteArgs("c1", &DeleteOpts{}), []string{"delete", "c1"}},
		{"delete force", deleteArgs("c1", &DeleteOpts{Force: true}), []string{"delete", "--force", "c1"}},
		{"exec", execArgs("c1", "/d/process.json", &ExecOpts{Detach: true, PidFile: "/d/pid"}, true),
			[]string{"exec", "--detach", "--pid-file", "/d/pid", "--process", "/d/process.json", "c1"}},
		{"exec tty", execArgs("c1", "/d/process.json", &ExecOpts{Tty: true, ConsoleSocket: "/d/c.sock"}, true),
			[]string{"exec", "--process", "/d/process.json", "--tty", "--console-socket", "/d/c.sock", "c1"}},
		// runsc takes the terminal from process.json.
		{"exec tty runsc", execArgs("c1", "/d/process.json", &ExecOpts{Tty: true, ConsoleSocket: "/d/c.sock"}, false),
			[]string{"exec", "--process", "/d/process.json", "--console-socket", "/d/c.sock", "c1"}},
	}
	for _, c := range cases {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: args = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// Exec writes process.json and runs the runtime's command line under the
// shim; /bin/echo stands in for the shim, so its output is the command line.
func TestExecCommandLine(t *testing.T) {
	echo, err := exec.LookPath("echo")
	if err != nil {
		t.Skip("no echo")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		rt   Runtime
		want string
	}{
		{&CLI{Path: "/bin/crun", Root: "/r"}, "x -- /bin/crun --root /r exec --detach --pid-file " + dir + "/pid --process " + dir + "/process.json --tty --console-socket " + dir + "/c.sock c1\n"},
		{&Runsc{CLI{Path: "/bin/runsc", Root: "/r"}}, "x -- /bin/runsc --root /r exec --detach --pid-file " + dir + "/pid --process " + dir + "/process.json --console-socket " + dir + "/c.sock c1\n"},
	} {
		var out strings.Builder
		cmd, err := tc.rt.Exec(context.Background(), "c1", &ExecOpts{
			Process: []byte(`{"args":["sh"]}`), Dir: dir, PidFile: filepath.Join(dir, "pid"),
			Tty: true, ConsoleSocket: filepath.Join(dir, "c.sock"), Detach: true,
			Shim: []string{echo, "x", "--"}, IO: IO{Stdout: &out},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("command line\n got %q\nwant %q", out.String(), tc.want)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "process.json")); err != nil || string(b) != `{"args":["sh"]}` {
			t.Errorf("process.json = %q, %v", b, err)
		}
	}
	if _, err := (&CLI{Path: "/bin/crun"}).Exec(context.Background(), "c1", &ExecOpts{Dir: dir}); err == nil {
		t.Error("Exec without a process succeeded")
	}
}

func TestHasState(t *testing.T) {
	root := t.TempDir()
	r := &CLI{Name: "crun", Path: "/nonexistent/crun", Root: root}
	if r.HasState("abc") {
		t.Fatal("HasState with no state directory = true")
	}
	if err := os.Mkdir(filepath.Join(root, "abc"), 0o700); err != nil {
		t.Fatal(err)
	}
	if !r.HasState("abc") {
		t.Fatal("HasState with a state directory = false")
	}
	// Unsure answers ask the runtime.
	for _, id := range []string{"", ".", "..", "a/b", "../abc"} {
		if !r.HasState(id) {
			t.Errorf("HasState(%q) = false, want true (unsure)", id)
		}
	}
	for _, args := range [][]string{{"--root", "/elsewhere"}, {"--root=/elsewhere"}} {
		o := &CLI{Name: "crun", Path: "/nonexistent/crun", Root: root, Args: args}
		if !o.HasState("missing") {
			t.Errorf("HasState with runtimeArgs %q = false, want true", args)
		}
	}
	if (&CLI{Path: "/nonexistent/crun"}).HasState("missing") != true {
		t.Error("HasState with no root = false, want true")
	}
}

// Delete of a container the runtime holds nothing of runs no runtime: the
// binary here does not exist, so any call would fail.
func TestDeleteWithoutStateRunsNothing(t *testing.T) {
	r := &CLI{Name: "crun", Path: "/nonexistent/crun", Root: t.TempDir()}
	if err := r.Delete(context.Background(), "missing", &DeleteOpts{Force: true}); err != nil {
		t.Fatalf("Delete without state: %v", err)
	}
	if err := os.Mkdir(filepath.Join(r.Root, "present"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(context.Background(), "present", &DeleteOpts{Force: true}); err == nil {
		t.Fatal("Delete with state did not call the runtime")
	}
}

func TestStartedAnyway(t *testing.T) {
	for msg, want := range map[string]bool{
		"runc start: remove /run/runc/c1/exec.fifo: no such file or directory": true,
		"runc start: cannot start a container that has stopped":                false,
		"crun start: container `c1` does not exist":                            false,
		"runc start: open /run/runc/c1/exec.fifo: permission denied":           false,
	} {
		if got := startedAnyway(errors.New(msg)); got != want {
			t.Errorf("startedAnyway(%q) = %v, want %v", msg, got, want)
		}
	}
}
