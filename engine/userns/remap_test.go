package userns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct{ in, user, group, err string }{
		{"", "", "", ""},
		{"default", DefaultUser, DefaultUser, ""},
		{"alice", "alice", "alice", ""},
		{"alice:staff", "alice", "staff", ""},
		{"1000:1000", "1000", "1000", ""},
		{"default:x", "", "", "takes no group"},
		{"root", "", "", "unprivileged"},
		{":g", "", "", "invalid"},
		{"a b", "", "", "invalid"},
		{"a:b:c", "", "", "invalid"},
	} {
		u, g, err := ParseSpec(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSpec(%q) = %q %q %v, want an error with %q", tc.in, u, g, err, tc.err)
			}
			continue
		}
		if err != nil || u != tc.user || g != tc.group {
			t.Errorf("ParseSpec(%q) = %q %q %v, want %q %q", tc.in, u, g, err, tc.user, tc.group)
		}
	}
}

func TestSubIDRanges(t *testing.T) {
	content := "alice:100000:65536\n# comment\nbob:165536:1000\n1001:300000:65536\nbad:x:1\nalice:500000:70000\nzero:0:5\n"
	if got := subIDRanges(content, "alice", "1000"); len(got) != 2 || got[0] != (Range{100000, 65536}) || got[1] != (Range{500000, 70000}) {
		t.Errorf("alice: %v", got)
	}
	if got := subIDRanges(content, "carol", "1001"); len(got) != 1 || got[0] != (Range{300000, 65536}) {
		t.Errorf("by uid: %v", got)
	}
	if got := subIDRanges(content, "zero", ""); len(got) != 0 {
		t.Errorf("a range starting at 0 must not be used: %v", got)
	}
	start, err := nextFreeStart(content)
	if err != nil || start != 570000 {
		t.Errorf("nextFreeStart = %d, %v, want 570000", start, err)
	}
	if start, err := nextFreeStart(""); err != nil || start != firstSubID {
		t.Errorf("nextFreeStart of nothing = %d, %v", start, err)
	}
	if _, err := nextFreeStart("x:4294900000:60000\n"); err == nil {
		t.Errorf("nextFreeStart past 2^32: no error")
	}
}

// TestSubRangeAllocates: a missing range is appended once, then reused;
// a named user without one is an error.
func TestSubRangeAllocates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subuid")
	os.WriteFile(path, []byte("other:100000:65536"), 0o644)
	r, err := subRange(path, "berth-remap", "999", true)
	if err != nil || r != (Range{165536, span}) {
		t.Fatalf("subRange = %v, %v", r, err)
	}
	again, err := subRange(path, "berth-remap", "999", true)
	if err != nil || again != r {
		t.Fatalf("second subRange = %v, %v, want %v", again, err, r)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "other:100000:65536\nberth-remap:165536:65536\n" {
		t.Errorf("subuid file: %q", b)
	}
	if _, err := subRange(path, "nobody-here", "", false); err == nil || !strings.Contains(err.Error(), "no subordinate id range") {
		t.Errorf("a user without a range: %v", err)
	}
}

func FuzzSubIDs(f *testing.F) {
	f.Add("a:100000:65536\nb:1:2\n", "a")
	f.Add("a:4294967295:1\n", "a")
	f.Fuzz(func(t *testing.T, content, name string) {
		for _, r := range subIDRanges(content, name, "") {
			if r.Size == 0 || r.Start == 0 || uint64(r.Start)+uint64(r.Size) > 1<<32 {
				t.Fatalf("bad range %v from %q", r, content)
			}
		}
		if start, err := nextFreeStart(content); err == nil {
			for _, r := range subIDRanges(content, name, "") {
				if start < r.Start+r.Size && start+span > r.Start {
					t.Fatalf("new range at %d overlaps %v", start, r)
				}
			}
		}
	})
}

// TestIDMapOverlay needs root and a kernel with idmapped overlay layers
// (Linux 5.19+; the hosts Berth targets run 6.x).
func TestIDMapOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	r := &Remap{User: "x", Group: "x", UID: Range{300000, span}, GID: Range{300000, span}}
	defer r.Close()
	if err := r.Probe(t.TempDir()); err != nil {
		t.Fatalf("idmapped overlay layers: %v", err)
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"default", "alice:staff", "root", ":", "a:b:c", "1000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, g, err := ParseSpec(v)
		if err != nil || v == "" {
			return
		}
		for _, s := range []string{u, g} {
			if s == "" || s == "root" || s == "0" || strings.ContainsAny(s, " \t\n:/") {
				t.Fatalf("ParseSpec(%q) accepted %q %q", v, u, g)
			}
		}
	})
}
