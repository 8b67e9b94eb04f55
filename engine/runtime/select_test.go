package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A daemon reload changes the default runtime while containers are being
// created: SetDefault and Get must not race (run with -race), and an
// unusable name is refused without changing the default.
func TestSetDefaultConcurrentWithGet(t *testing.T) {
	s := &Set{Default: "a", Runtimes: map[string]*Runtime{
		"a": {Name: "a", Usable: true}, "b": {Name: "b", Usable: true}, "bad": {Name: "bad"},
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			if _, err := s.Get(""); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 1000; i++ {
		name := []string{"a", "b"}[i%2]
		if err := s.SetDefault(name); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if err := s.SetDefault("bad"); err == nil {
		t.Fatal("an unusable runtime became the default")
	}
	if err := s.SetDefault("nope"); err == nil {
		t.Fatal("an unknown runtime became the default")
	}
	if got := s.DefaultName(); got != "b" {
		t.Fatalf("default after refused changes = %q, want b", got)
	}
}

// crunScript writes an executable named crun in a new directory sub that
// prints version as crun does (exit code exit) and returns its path.
func crunScript(t *testing.T, sub, version string, exit int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "crun")
	script := fmt.Sprintf("#!/bin/sh\necho 'crun version %s'\necho 'spec: 1.0.0'\nexit %d\n", version, exit)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// crun is Berth's own build when it is installed and answers as crun;
// otherwise the crun in PATH, and berth info's note says which and why.
func TestFindRuntimeCrunChoice(t *testing.T) {
	debian := crunScript(t, "path", "1.8.1", 0)
	t.Setenv("PATH", filepath.Dir(debian))
	lean := crunScript(t, "lean", "1.8.1-lean", 0)
	broken := crunScript(t, "broken", "1.8.1", 1)
	notCrun := filepath.Join(filepath.Dir(broken), "other")
	if err := os.WriteFile(notCrun, []byte("#!/bin/sh\necho runc version 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lean, want, note string
	}{
		{lean, lean, "crun 1.8.1-lean"},
		{filepath.Join(t.TempDir(), "crun"), debian, "is not installed"},
		{broken, debian, "does not work: --version"},
		{notCrun, debian, "not named crun"},
	} {
		got, note := findRuntime("crun", c.lean, map[string]string{})
		if got != c.want || !strings.Contains(note, c.note) || !strings.Contains(note, got) {
			t.Errorf("lean %s: chose %s (%q), want %s with a note saying %q", c.lean, got, note, c.want, c.note)
		}
	}
	if got, note := findRuntime("runc", lean, map[string]string{}); got != "" || note != "" {
		t.Errorf("runc with none in PATH: %q %q, want none", got, note)
	}
	t.Setenv("PATH", t.TempDir())
	if got, note := findRuntime("crun", filepath.Join(t.TempDir(), "crun"), map[string]string{}); got != "" || note != "" {
		t.Errorf("no crun at all: %q %q, want none", got, note)
	}
}

// Detect asks each crun binary its version once: the choice of crun and
// the hybrid-cgroup notes reuse what findRuntime read.
func TestCrunVersionAskedOnce(t *testing.T) {
	dir := t.TempDir()
	lean := filepath.Join(dir, "crun")
	count := filepath.Join(dir, "count")
	script := fmt.Sprintf("#!/bin/sh\necho x >> %s\necho 'crun version 1.8.1-lean'\n", count)
	if err := os.WriteFile(lean, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	if got, _ := findRuntime("crun", lean, versions); got != lean {
		t.Fatalf("chose %q, want %q", got, lean)
	}
	for range 2 {
		if v := crunVersion(lean, versions); v != "1.8.1-lean" {
			t.Fatalf("version %q, want 1.8.1-lean", v)
		}
	}
	b, err := os.ReadFile(count)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "x"); n != 1 {
		t.Errorf("crun --version ran %d times, want 1", n)
	}
}
