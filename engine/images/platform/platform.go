// Package platform parses and compares image platforms the way Docker does
// ("linux/arm64/v8" == "arm64", x86_64 == amd64), shared by pull, import,
// load, commit and create --platform.
package platform

import (
	"runtime"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Parse parses "os[/arch[/variant]]" (or a bare arch); empty means the
// host's. Only linux is accepted; architectures are normalised.
func Parse(p string) (ocispec.Platform, error) {
	if p == "" {
		return Host(), nil
	}
	parts := strings.Split(strings.ToLower(p), "/")
	var plat ocispec.Platform
	switch len(parts) {
	case 1:
		if parts[0] == "linux" {
			plat = Host()
		} else {
			plat = ocispec.Platform{OS: "linux", Architecture: parts[0]}
		}
	case 2:
		plat = ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	case 3:
		plat = ocispec.Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
	default:
		return plat, errdefs.Invalid("invalid platform %q: expected os/arch[/variant]", p)
	}
	if plat.OS != "linux" {
		return ocispec.Platform{}, errdefs.Invalid("operating system is not supported: %s", plat.OS)
	}
	plat.Architecture = NormalizeArch(plat.Architecture)
	if plat.Architecture == "arm64" && plat.Variant == "v8" {
		plat.Variant = ""
	}
	return plat, nil
}

// Host is the platform berthd runs on.
func Host() ocispec.Platform {
	p := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm" {
		p.Variant = "v7"
	}
	return p
}

// NormalizeArch maps the kernel's architecture names to Go's.
func NormalizeArch(a string) string {
	switch a {
	case "x86_64", "x86-64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return a
}

// Format spells a platform as Docker's messages do: "os/arch[/variant]".
func Format(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

// Check refuses an image made for another platform than want, with
// dockerd's error (a not-found, so that clients pull the wanted variant)
// naming both; ref is the image as the user named it. An image without an
// architecture (some scratch builds) runs anywhere.
func Check(ref, os, arch, variant string, want ocispec.Platform) error {
	if os == "" {
		os = "linux"
	}
	if arch == "" {
		return nil
	}
	if os == want.OS && NormalizeArch(arch) == want.Architecture && (want.Variant == "" || variant == "" || variant == want.Variant) {
		return nil
	}
	return errdefs.NotFound("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s",
		ref, Format(want.OS, want.Architecture, want.Variant), Format(os, arch, variant))
}
