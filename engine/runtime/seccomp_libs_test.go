package runtime

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A libseccomp upgrade changes the key although crun's binary is the same:
// a filter compiled by the old library is not handed out any more.
func TestSeccompKeyFollowsLibseccomp(t *testing.T) {
	r := fakeCrun(t)
	dir := t.TempDir()
	lib := filepath.Join(dir, "libseccomp.so.2")
	v1, v2 := filepath.Join(dir, "libseccomp.so.2.5.4"), filepath.Join(dir, "libseccomp.so.2.5.5")
	os.WriteFile(v1, []byte("old"), 0o644)
	os.WriteFile(v2, []byte("new"), 0o644)
	if err := os.Symlink(filepath.Base(v1), lib); err != nil {
		t.Fatal(err)
	}
	found := true
	orig := libseccompOf
	libseccompOf = func(string, os.FileInfo) ([]string, bool) { return []string{lib}, found }
	t.Cleanup(func() { libseccompOf = orig })

	s := specWith(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
	k1 := r.SeccompKey(s)
	if k1 == "" || r.SeccompKey(s) != k1 {
		t.Fatalf("key %q, then %q", k1, r.SeccompKey(s))
	}
	// The upgrade moves the link to a new file of the same size.
	os.Remove(lib)
	os.Symlink(filepath.Base(v2), lib)
	if r.SeccompKey(s) == k1 {
		t.Error("the key did not change when libseccomp was upgraded")
	}
	found = false
	if k := r.SeccompKey(s); k != "" {
		t.Errorf("a runtime whose libseccomp was not found got key %q", k)
	}
}

// crun as Debian ships it loads libseccomp.so.2; berthd finds that file.
func TestFindLibseccompOfCrun(t *testing.T) {
	const crun = "/usr/bin/crun"
	f, err := elf.Open(crun)
	if err != nil {
		t.Skipf("no crun to read: %v", err)
	}
	names, _ := f.ImportedLibraries()
	f.Close()
	wants := false
	for _, n := range names {
		wants = wants || strings.HasPrefix(n, "libseccomp.")
	}
	libs := findLibseccomp(crun)
	if !wants {
		if len(libs) != 0 {
			t.Errorf("crun loads no libseccomp, found %v", libs)
		}
		return
	}
	if len(libs) != 1 || !strings.HasPrefix(filepath.Base(libs[0]), "libseccomp.so") {
		t.Fatalf("libseccomp of %s: %v", crun, libs)
	}
	if _, err := os.Stat(libs[0]); err != nil {
		t.Error(err)
	}
	if libs := findLibseccomp("/nonexistent/crun"); libs == nil || len(libs) != 0 {
		t.Errorf("a binary that cannot be read: %v, want none and found", libs)
	}
}
