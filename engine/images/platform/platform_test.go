package platform

import (
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/errdefs"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]ocispec.Platform{
		"":                 Host(),
		"linux":            Host(),
		"arm64":            {OS: "linux", Architecture: "arm64"},
		"linux/x86_64":     {OS: "linux", Architecture: "amd64"},
		"Linux/ARM64/v8":   {OS: "linux", Architecture: "arm64"},
		"linux/arm/v7":     {OS: "linux", Architecture: "arm", Variant: "v7"},
		"linux/aarch64/v8": {OS: "linux", Architecture: "arm64"},
	} {
		got, err := Parse(in)
		if err != nil || got.OS != want.OS || got.Architecture != want.Architecture || got.Variant != want.Variant {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"windows/amd64", "linux/amd64/v2/x", "darwin/arm64"} {
		if _, err := Parse(bad); !errdefs.IsInvalid(err) {
			t.Errorf("Parse(%q): want an invalid-argument error, got %v", bad, err)
		}
	}
}

func TestCheck(t *testing.T) {
	want := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	if err := Check("x", "linux", "x86_64", "", want); err != nil {
		t.Errorf("x86_64 is amd64: %v", err)
	}
	if err := Check("x", "", "", "", want); err != nil {
		t.Errorf("an image without a platform runs anywhere: %v", err)
	}
	err := Check("busybox", "linux", "arm64", "v8", want)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "wanted linux/amd64, actual: linux/arm64/v8") {
		t.Errorf("mismatch: %v", err)
	}
}

// FuzzParse: any --platform text parses to a linux platform or is refused
// with an invalid-argument error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "linux/amd64", "arm/v7", "linux/arm64/v8", "a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if !errdefs.IsInvalid(err) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if p.OS != "linux" {
			t.Fatalf("%q parsed to OS %q", s, p.OS)
		}
	})
}
