package reference

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/errdefs"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                          "docker.io/library/busybox:latest",
		"busybox:1.36":                     "docker.io/library/busybox:1.36",
		"docker.io/library/busybox:latest": "docker.io/library/busybox:latest",
		"localhost:5000/a/b:c":             "localhost:5000/a/b:c",
		"user/app":                         "docker.io/user/app:latest",
	} {
		n, err := ParseTagged(in)
		if err != nil || n.String() != want {
			t.Errorf("%s: got %v %v want %s", in, n, err, want)
		}
	}
	n, _ := ParseTagged("busybox")
	if Familiar(n) != "busybox:latest" {
		t.Errorf("familiar %s", Familiar(n))
	}
	for in, msg := range map[string]string{
		"Busybox":  "invalid reference format: repository name (library/Busybox) must be lowercase",
		"":         "invalid reference format",
		"a b":      "invalid reference format",
		"busybox:": "invalid reference format",
	} {
		_, err := Parse(in)
		if err == nil || err.Error() != msg || !errdefs.IsInvalid(err) {
			t.Errorf("%q: got %v want %s", in, err, msg)
		}
	}
}

func TestWithTag(t *testing.T) {
	n, err := WithTag("localhost:5000/x", "v1")
	if err != nil || n.String() != "localhost:5000/x:v1" {
		t.Fatal(n, err)
	}
	if _, err := WithTag("x", "bad tag"); err == nil {
		t.Fatal("bad tag accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"busybox", "a/b:c", "localhost:5000/x@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "Busybox", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if !errdefs.IsInvalid(err) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		// A parsed reference re-parses to itself.
		n2, err := Parse(n.String())
		if err != nil || n2.String() != n.String() {
			t.Fatalf("%q -> %q -> %v %v", s, n.String(), n2, err)
		}
	})
}

func TestNewTagRefs(t *testing.T) {
	if refs, err := NewTagRefs(""); err != nil || refs != nil {
		t.Fatalf(`NewTagRefs("") = %v, %v`, refs, err)
	}
	if refs, err := NewTagRefs("busybox"); err != nil || len(refs) != 1 || refs[0] != "docker.io/library/busybox:latest" {
		t.Fatalf("NewTagRefs(busybox) = %v, %v", refs, err)
	}
	dig := "busybox@sha256:" + strings.Repeat("a", 64)
	if _, err := NewTagRefs(dig); !errdefs.IsInvalid(err) || err.Error() != "refusing to create a tag with a digest reference" {
		t.Fatalf("digest: %v", err)
	}
	if _, err := NewTagRefs("Bad"); !errdefs.IsInvalid(err) {
		t.Fatalf("bad name: %v", err)
	}
}
