package sysmonslack

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func taskDir(t *testing.T, tids ...int) string {
	d := t.TempDir()
	for _, tid := range tids {
		if err := os.Mkdir(filepath.Join(d, strconv.Itoa(tid)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestFirstThread(t *testing.T) {
	for _, c := range []struct {
		name      string
		pid, max  int
		tids      []int
		want      int
		wantError bool
	}{
		{"in order", 100, 1000, []int{100, 104, 101, 103}, 101, false},
		{"wrapped at pid_max", 998, 1000, []int{998, 5, 999, 3}, 999, false},
		{"created after the wrap", 998, 1000, []int{998, 7, 3}, 3, false},
		{"main thread only", 100, 1000, []int{100}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := firstThread(taskDir(t, c.tids...), c.pid, c.max)
			if (err != nil) != c.wantError || got != c.want {
				t.Fatalf("firstThread = %d, %v; want %d (error %v)", got, err, c.want, c.wantError)
			}
		})
	}
}

// TestSysmonThread checks the shortcut (the thread ID after the process's
// own) and the scan it falls back to.
func TestSysmonThread(t *testing.T) {
	for _, c := range []struct {
		name string
		tids []int
		want int
	}{
		{"next ID", []int{100, 104, 101}, 101},
		{"next ID taken by another process", []int{100, 104, 102}, 102},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := sysmonThread(taskDir(t, c.tids...), 100)
			if err != nil || got != c.want {
				t.Fatalf("sysmonThread = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

// TestRelax sets this test process's monitor thread's slack and reads it
// back; the main thread keeps its own.
func TestRelax(t *testing.T) {
	before, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Skip("no timerslack_ns:", err)
	}
	if err := Relax(3 * time.Millisecond); err != nil {
		if os.IsPermission(err) {
			t.Skip("needs CAP_SYS_NICE:", err)
		}
		t.Fatal(err)
	}
	tid, err := Thread()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(got)); s != "3000000" {
		t.Fatalf("monitor thread's slack = %s, want 3000000", s)
	}
	after, _ := os.ReadFile("/proc/self/timerslack_ns")
	if string(after) != string(before) {
		t.Fatalf("main thread's slack changed: %s -> %s", before, after)
	}
}
