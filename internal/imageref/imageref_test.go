package imageref

import (
	_ "crypto/sha256"
	_ "crypto/sha512"
	"strings"
	"testing"

	dref "github.com/distribution/reference"
)

var seeds = []string{
	"busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:1.36",
	"index.docker.io/user/app", "user/app:v1", "localhost/app", "localhost:5000/app:tag",
	"127.0.0.1:5000/a/b/c@sha256:" + strings.Repeat("a", 64),
	"[::1]:5000/app", "[fe80::1%eth0]/x", "Example.com/app", "exa_mple.com/foo", "Foo/bar",
	"BusyBox", "a:b:c", "app@sha256:" + strings.Repeat("A", 64), "app@sha256:abc",
	"app@md5:" + strings.Repeat("a", 32), "app@Sha2-x:" + strings.Repeat("a", 40),
	strings.Repeat("b", 64), "sha256:" + strings.Repeat("c", 64), "a__b", "a___b", "a--b", "a.-b",
	"a/" + strings.Repeat("x", 260), "app:" + strings.Repeat("t", 129), "", ":tag", "@", "a@",
	"host:/x", "host:port/x", "a-.com/x", "-a.com/x", "x/y:tag@sha512:" + strings.Repeat("0", 128),
	"app@sha384:" + strings.Repeat("1", 96), "app@sha256:" + strings.Repeat("1", 63) + ":",
}

// FuzzParseNormalizedNamed checks that the hand-written parser agrees with
// distribution/reference on every input: the same error text, or the
// same parts.
func FuzzParseNormalizedNamed(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		compareNamed(t, s)
		compareAny(t, s)
	})
}

func TestParseAgreesWithDistribution(t *testing.T) {
	for _, s := range seeds {
		compareNamed(t, s)
		compareAny(t, s)
	}
}

func compareNamed(t *testing.T, s string) {
	t.Helper()
	want, werr := dref.ParseNormalizedNamed(s)
	got, gerr := ParseNormalizedNamed(s)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("ParseNormalizedNamed(%q): error %v, want %v", s, gerr, werr)
	}
	if werr != nil {
		return
	}
	same(t, s, got, want)
}

func same(t *testing.T, s string, got Named, want dref.Named) {
	t.Helper()
	var tag, dg string
	if x, ok := want.(dref.Tagged); ok {
		tag = x.Tag()
	}
	if x, ok := want.(dref.Digested); ok {
		dg = x.Digest().String()
	}
	wantFam := dref.FamiliarString(want)
	if got.String() != want.String() || got.Name() != want.Name() || got.Domain() != dref.Domain(want) ||
		got.Path() != dref.Path(want) || got.Tag() != tag || got.Digest() != dg ||
		got.FamiliarString() != wantFam || got.FamiliarName() != dref.FamiliarName(want) ||
		got.IsNameOnly() != dref.IsNameOnly(want) || got.TagNameOnly().String() != dref.TagNameOnly(want).String() {
		t.Fatalf("%q: got %+v (%s, familiar %s), want %s (familiar %s)", s, got, got, got.FamiliarString(), want, wantFam)
	}
}

func compareAny(t *testing.T, s string) {
	t.Helper()
	want, werr := dref.ParseAnyReference(s)
	got, named, gerr := ParseAnyReference(s)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("ParseAnyReference(%q): error %v, want %v", s, gerr, werr)
	}
	if werr != nil {
		return
	}
	wn, ok := want.(dref.Named)
	if ok != named {
		t.Fatalf("ParseAnyReference(%q): named %v, want %v", s, named, ok)
	}
	if ok {
		same(t, s, got, wn)
	} else if got.Digest() != want.String() {
		t.Fatalf("ParseAnyReference(%q): digest %q, want %q", s, got.Digest(), want.String())
	}
}
