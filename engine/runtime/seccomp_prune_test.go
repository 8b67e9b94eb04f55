package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cacheFile writes a cached filter (or temp file) last used at t.
func cacheFile(t *testing.T, dir, name string, at time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, make([]byte, bpfInsnSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

// saveFilter caches a filter for a new container as a start does, and
// returns the key it went under.
func saveFilter(t *testing.T, r *Runtime) string {
	t.Helper()
	key := r.SeccompKey(specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}))
	state := filepath.Join(r.Root, "c1")
	os.MkdirAll(state, 0o700)
	os.WriteFile(filepath.Join(state, "seccomp.bpf"), make([]byte, 2*bpfInsnSize), 0o600)
	if err := r.SaveSeccomp("c1", key); err != nil {
		t.Fatal(err)
	}
	return key
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// Adding a filter bounds the cache: filters unused for 30 days go, then the
// least recently used beyond the count, never the one just added nor one
// used within the grace period; temp files of interrupted saves go.
func TestSeccompCachePrune(t *testing.T) {
	r := fakeCrun(t)
	dir := r.seccompCacheDir()
	os.MkdirAll(dir, 0o700)
	now := time.Now()
	cacheFile(t, dir, "old.bpf", now.Add(-seccompCacheMaxAge-time.Hour))
	cacheFile(t, dir, "fresh.bpf", now)
	for i := range seccompCacheMax + 6 {
		cacheFile(t, dir, fmt.Sprintf("n%02d.bpf", i), now.Add(-time.Hour-time.Duration(i)*time.Minute))
	}
	cacheFile(t, dir, ".tmp-stale", now.Add(-time.Hour))
	cacheFile(t, dir, ".tmp-live", now)
	key := saveFilter(t, r)
	for name, want := range map[string]bool{
		key + ".bpf": true, "fresh.bpf": true, "old.bpf": false, ".tmp-stale": false, ".tmp-live": true,
		// keep, fresh and n00..n61 fill the 64 places.
		"n00.bpf": true, "n61.bpf": true, "n62.bpf": false, fmt.Sprintf("n%02d.bpf", seccompCacheMax+5): false,
	} {
		if exists(dir, name) != want {
			t.Errorf("%s: kept %v, want %v", name, !want, want)
		}
	}
	ents, _ := filepath.Glob(filepath.Join(dir, "*.bpf"))
	if len(ents) != seccompCacheMax {
		t.Errorf("%d filters cached, want %d", len(ents), seccompCacheMax)
	}
	// Filters within the grace period stay even beyond the count.
	r2 := fakeCrun(t)
	dir2 := r2.seccompCacheDir()
	os.MkdirAll(dir2, 0o700)
	for i := range seccompCacheMax + 3 {
		cacheFile(t, dir2, fmt.Sprintf("g%02d.bpf", i), now.Add(-time.Duration(i)*time.Second))
	}
	saveFilter(t, r2)
	if ents, _ := filepath.Glob(filepath.Join(dir2, "*.bpf")); len(ents) != seccompCacheMax+4 {
		t.Errorf("%d filters after a save among ones in use, want all %d", len(ents), seccompCacheMax+4)
	}
	// A read (the access time) counts as a use.
	r3 := fakeCrun(t)
	dir3 := r3.seccompCacheDir()
	os.MkdirAll(dir3, 0o700)
	old := now.Add(-seccompCacheMaxAge - time.Hour)
	cacheFile(t, dir3, "read.bpf", old)
	os.Chtimes(filepath.Join(dir3, "read.bpf"), now.Add(-time.Hour), old)
	saveFilter(t, r3)
	if !exists(dir3, "read.bpf") {
		t.Error("a filter read an hour ago (written long before) was removed")
	}
}
