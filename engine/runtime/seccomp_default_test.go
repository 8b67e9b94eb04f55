package runtime

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func specOf(t *testing.T, hc *container.HostConfig) *specs.Spec {
	t.Helper()
	s, err := BuildSpec(SpecOptions{ID: "abc", Rootfs: "/r", Config: &container.Config{}, HostConfig: hc, Args: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The default profile set up once per capability set gives the spec, the
// cache key and the config.json (with the cached filter's annotation) that
// setting it up and reading the filter afresh at every start gave.
func TestDefaultSeccompSameSpec(t *testing.T) {
	r := fakeCrun(t)
	for _, hc := range []container.HostConfig{
		{}, {CapAdd: []string{"ALL"}}, {CapDrop: []string{"ALL"}},
		{CapAdd: []string{"SYS_ADMIN", "SYS_PTRACE"}}, {CapAdd: []string{"SYS_PTRACE", "SYS_ADMIN"}},
	} {
		s := specOf(t, &hc)
		fresh, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mustJSON(t, s.Linux.Seccomp), mustJSON(t, fresh); got != want {
			t.Fatalf("%v: shared profile differs from a fresh one", hc.CapAdd)
		}
		again := specOf(t, &hc)
		if again.Linux.Seccomp != s.Linux.Seccomp {
			t.Errorf("%v: profile set up again for the same capabilities", hc.CapAdd)
		}
		old := *s
		old.Linux = &specs.Linux{}
		*old.Linux = *s.Linux
		old.Linux.Seccomp = fresh
		key := r.SeccompKey(s)
		if key == "" || key != r.SeccompKey(&old) {
			t.Fatalf("%v: key %q, from a fresh profile %q", hc.CapAdd, key, r.SeccompKey(&old))
		}
		checkSameBundle(t, r, key, s, &old)
		if n := len(specOf(t, &hc).Linux.Seccomp.Syscalls); n != len(fresh.Syscalls) {
			t.Fatalf("%v: using a filter left the shared profile with %d rules, want %d", hc.CapAdd, n, len(fresh.Syscalls))
		}
	}
}

// checkSameBundle saves a filter under key and checks that s handed it
// (twice: read, then from memory) encodes as old handed it the way a
// start did before the annotation was kept in memory.
func checkSameBundle(t *testing.T, r *Runtime, key string, s, old *specs.Spec) {
	t.Helper()
	filter := make([]byte, 8*1009)
	for i := range filter {
		filter[i] = byte(i * 7)
	}
	dir := r.seccompCacheDir()
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, key+".bpf"), filter, 0o600); err != nil {
		t.Fatal(err)
	}
	old.Annotations = map[string]string{SeccompBPFAnnotation: base64.StdEncoding.EncodeToString(filter)}
	sc := *old.Linux.Seccomp
	sc.Syscalls = nil
	old.Linux.Seccomp = &sc
	want := mustJSON(t, old)
	for range 2 {
		c := *s
		if !r.UsePrecompiledSeccomp(&c, key) {
			t.Fatal("cached filter not used")
		}
		if got := mustJSON(t, &c); got != want {
			t.Fatalf("config.json differs:\n%s\nwant\n%s", got, want)
		}
	}
}

func TestFilterMemoBounds(t *testing.T) {
	var f filterMemo
	t0 := time.Unix(1e9, 0)
	f.put("/a", "A", t0)
	if d, ok := f.get("/a", t0.Add(seccompFilterReread-time.Second)); !ok || d != "A" {
		t.Fatalf("get = %q %v", d, ok)
	}
	if _, ok := f.get("/a", t0.Add(seccompFilterReread)); ok {
		t.Error("a copy older than seccompFilterReread was used: the file is never read again")
	}
	for i := range seccompCacheMax {
		f.put(string(rune('b'+i)), "x", t0.Add(time.Duration(i+1)*time.Second))
	}
	if len(f.m) != seccompCacheMax {
		t.Errorf("%d copies kept, want %d", len(f.m), seccompCacheMax)
	}
	if _, ok := f.m["/a"]; ok {
		t.Error("the oldest copy was kept")
	}
	f.drop("b")
	if _, ok := f.get("b", t0); ok {
		t.Error("a dropped copy was used")
	}
}

// A filter pruned from the cache, or replaced by a bad file and then
// pruned, is not handed out from memory.
func TestFilterMemoFollowsPrune(t *testing.T) {
	r := fakeCrun(t)
	key := saveFilter(t, r)
	s := specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
	if !r.UsePrecompiledSeccomp(s, key) {
		t.Fatal("saved filter not used")
	}
	dir := r.seccompCacheDir()
	old := time.Now().Add(-seccompCacheMaxAge - time.Hour)
	os.Chtimes(filepath.Join(dir, key+".bpf"), old, old)
	r.pruneSeccomp("other", time.Now())
	if exists(dir, key+".bpf") {
		t.Fatal("old filter not pruned")
	}
	if r.UsePrecompiledSeccomp(specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}), key) {
		t.Error("a pruned filter was handed out from memory")
	}
}
