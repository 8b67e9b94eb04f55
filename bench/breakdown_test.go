// Package bench holds the benchmark scripts; these tests check their
// parsers on recorded traces (untimed: nothing here measures anything).
package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// awks lists the awk implementations present here: run.sh uses whichever
// `awk` the machine has (mawk on Debian), so the parsers stay portable.
func awks(t *testing.T) []string {
	var found []string
	for _, a := range []string{"awk", "mawk", "gawk", "original-awk"} {
		if p, err := exec.LookPath(a); err == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		t.Skip("no awk on this machine")
	}
	return found
}

func runAwk(t *testing.T, awk, script string, files ...string) string {
	t.Helper()
	out, err := exec.Command(awk, append([]string{"-f", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s -f %s: %v\n%s", awk, script, err, out)
	}
	return string(out)
}

// TestBreakdownRecordedTrace parses three traced `berth run --rm busybox
// true` (CLI traces and berthd's, recorded by bench/run.sh's commands) and
// compares the table with the one checked by hand against the traces (run
// 1: create 33.3 ms after the CLI's exec, start 168.2, overlay 172.3; in
// run 3 the network namespace, 333.2, comes before the overlay, 334.4, so
// there the overlay's step is 1.3 ms from it and the network's 55.6 from
// the start request).
func TestBreakdownRecordedTrace(t *testing.T) {
	dir := filepath.Join("testdata", "runrm")
	want, err := os.ReadFile(filepath.Join(dir, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "cli.1"), filepath.Join(dir, "cli.2"), filepath.Join(dir, "cli.3"), filepath.Join(dir, "berthd")}
	for _, a := range awks(t) {
		if got := runAwk(t, a, "breakdown.awk", files...); got != string(want) {
			t.Errorf("%s: table differs\ngot:\n%s\nwant:\n%s", a, got, want)
		}
	}
}

// TestBreakdownOneRun checks the markers of a single run one by one, on a
// trace cut to what each rule must and must not take: a failed execve, an
// execve resumed after another thread's line, a program berthd runs that
// is not below the runtime, a daemon line from before the CLI started, and
// an earlier container's overlay unmounted (in the background) while this
// run goes on.
func TestBreakdownOneRun(t *testing.T) {
	dir := t.TempDir()
	cli := `100 1000.000000 execve("/usr/bin/berth", ["berth", "run", "--rm", "busybox", "true"], 0x1 /* 9 vars */) = 0
101 1000.010000 write(5, "HEAD /_ping HTTP/1.1\r\n", 20) = 20
101 1000.020000 write(5, "POST /v1.47/containers/create HTTP/1.1\r\n", 40) = 40
101 1000.030000 write(8, "POST /v1.47/containers/abc/attach?stream=1 HTTP/1.1\r\n", 50) = 50
101 1000.040000 write(9, "POST /v1.47/containers/abc/start HTTP/1.1\r\n", 40) = 40
102 1000.200000 exit_group(0)           = ?
`
	daemon := `7 999.000000 mount("overlay", "/x/old/merged", "overlay", 0, "") = 0
7 1000.045000 mount("overlay", "/x/abc/merged", "overlay", 0, "lowerdir=/l") = 0
7 1000.045500 umount2("/x/old/merged", MNT_DETACH) = 0
8 1000.046000 mount("/proc/self/task/8/ns/net", "/x/netns/.pool-1", "none", MS_BIND, NULL) = 0
8 1000.047000 unshare(CLONE_NEWNET) = 0
8 1000.048000 mount("/proc/self/task/8/ns/net", "/x/netns/abc", "none", MS_BIND, NULL) = -1 EBUSY (Device or resource busy)
8 1000.050000 mount("/x/netns/.pool-0", "/x/netns/abc", "none", MS_BIND, NULL) = 0
8 1000.055000 clone(child_stack=NULL, flags=CLONE_VM|CLONE_VFORK|SIGCHLD <unfinished ...>
20 1000.060000 execve("/nowhere/berth-cmon", ["berth-cmon"], 0x1 /* 1 var */) = -1 ENOENT (No such file or directory)
20 1000.061000 execve("/bin/berth-cmon", ["berth-cmon"], 0x1 /* 1 var */ <unfinished ...>
8 1000.062000 <... clone resumed>, parent_tid=[3]) = 20
20 1000.063000 <... execve resumed>) = 0
20 1000.064000 clone(child_stack=NULL, flags=SIGCHLD) = 21
21 1000.070000 execve("/r/crun", ["crun", "run", "--detach"], 0x1 /* 1 var */) = 0
9 1000.071000 execve("/usr/sbin/iptables", ["iptables"], 0x1 /* 1 var */) = 0
21 1000.080000 clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWPID|SIGCHLD) = 22
22 1000.090000 execve("/bin/true", ["true"], 0x1 /* 3 vars */) = 0
21 1000.095000 exit_group(0)           = ?
22 1000.100000 exit_group(0)           = ?
7 1000.150000 umount2("/x/abc/merged", MNT_DETACH) = 0
`
	cf, df := filepath.Join(dir, "cli"), filepath.Join(dir, "berthd")
	if err := os.WriteFile(cf, []byte(cli), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(df, []byte(daemon), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CLI executed":                 "0.0 | — |",
		"create request sent":          "20.0 | 20.0 |",
		"start request sent":           "40.0 | 20.0 |",
		"overlay mounted":              "45.0 | 5.0 |",
		"network namespace in place":   "50.0 | 5.0 |",
		"monitor executed":             "61.0 | 11.0 |",
		"runtime executed":             "70.0 | 9.0 |",
		"container's program executed": "90.0 | 20.0 |",
		"container's program exited":   "100.0 | 10.0 |",
		"overlay unmounted (removal)":  "150.0 | 50.0 |",
		"CLI exited":                   "200.0 | 50.0 |",
	}
	for _, a := range awks(t) {
		got := runAwk(t, a, "breakdown.awk", cf, df)
		for label, cells := range want {
			if line := "| " + label + " | " + cells + " 1 of 1 |"; !strings.Contains(got, line+"\n") {
				t.Errorf("%s: no line %q in\n%s", a, line, got)
			}
		}
	}
}
