package buildkit

import "testing"

func TestBuiltinSyntax(t *testing.T) {
	for ref, want := range map[string]bool{
		"docker/dockerfile:1":                 true,
		"docker/dockerfile:1.7":               true,
		"docker.io/docker/dockerfile:1.7.1":   true,
		"docker/dockerfile":                   true,
		"docker/dockerfile-upstream:1":        true,
		"docker/dockerfile:1-labs":            false,
		"docker/dockerfile:1.7-labs":          false,
		"docker/dockerfile:2":                 false,
		"some/other:image":                    false,
		"example.com/docker/dockerfile:1":     false,
		"docker/dockerfile@sha256:" + hex64(): false,
		"not a ref":                           false,
	} {
		if got := builtinSyntax(ref); got != want {
			t.Errorf("builtinSyntax(%q) = %v, want %v", ref, got, want)
		}
	}
}

func hex64() string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestCheckPlatform(t *testing.T) {
	if err := checkPlatform("linux/arm/v5,linux/s390x"); err == nil {
		t.Error("foreign platforms accepted")
	}
	if err := checkPlatform("bogus/"); err == nil {
		t.Error("invalid platform accepted")
	}
}
