// Package imageref parses image references (name[:tag][@digest]) the way
// github.com/distribution/reference does, with the same normalisation
// (docker.io/library/...) and the same error messages, but by hand: that
// package compiles its grammar's regular expressions at initialisation,
// a cost every berth command paid at start-up (FuzzParseNormalizedNamed
// checks the two agree).
package imageref

import (
	"errors"
	"fmt"
	"strings"
)

const (
	defaultDomain       = "docker.io"
	legacyDefaultDomain = "index.docker.io"
	officialRepoPrefix  = "library/"
	nameTotalLengthMax  = 255
)

// The errors of distribution/reference and go-digest, worded as they are.
var (
	ErrReferenceInvalidFormat = errors.New("invalid reference format")
	ErrNameContainsUppercase  = errors.New("repository name must be lowercase")
	ErrNameEmpty              = errors.New("repository name must have at least one component")
	ErrNameTooLong            = fmt.Errorf("repository name must not be more than %v characters", nameTotalLengthMax)
	ErrDigestInvalidFormat    = errors.New("invalid checksum digest format")
	ErrDigestInvalidLength    = errors.New("invalid checksum digest length")
	ErrDigestUnsupported      = errors.New("unsupported digest algorithm")
)

// Named is a parsed reference with a repository name; Tag and Digest are
// "" when absent.
type Named struct {
	domain, path, tag, digest string
}

// Domain is the registry part (docker.io for Docker Hub).
func (n Named) Domain() string { return n.domain }

// Path is the repository path inside the registry.
func (n Named) Path() string { return n.path }

// Tag is the tag, "" when none.
func (n Named) Tag() string { return n.tag }

// Digest is the digest ("sha256:..."), "" when none.
func (n Named) Digest() string { return n.digest }

// Name is the full repository name: domain/path.
func (n Named) Name() string {
	if n.domain == "" {
		return n.path
	}
	return n.domain + "/" + n.path
}

// String is the full reference: name[:tag][@digest].
func (n Named) String() string { return n.Name() + n.suffix() }

func (n Named) suffix() string {
	s := ""
	if n.tag != "" {
		s += ":" + n.tag
	}
	if n.digest != "" {
		s += "@" + n.digest
	}
	return s
}

// FamiliarName is the name as users write it: without docker.io/ and,
// for official images, without library/.
func (n Named) FamiliarName() string {
	if n.domain != defaultDomain {
		return n.Name()
	}
	if rest, ok := strings.CutPrefix(n.path, officialRepoPrefix); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return n.path
}

// FamiliarString is the reference as users write it.
func (n Named) FamiliarString() string { return n.FamiliarName() + n.suffix() }

// IsNameOnly reports whether n has neither tag nor digest.
func (n Named) IsNameOnly() bool { return n.tag == "" && n.digest == "" }

// TagNameOnly adds the "latest" tag to a name-only reference.
func (n Named) TagNameOnly() Named {
	if n.IsNameOnly() {
		n.tag = "latest"
	}
	return n
}

// TrimNamed is the repository name alone.
func (n Named) TrimNamed() Named { return Named{domain: n.domain, path: n.path} }

// ParseNormalizedNamed parses a reference as users write it ("busybox",
// "user/app:1", "host:5000/app@sha256:...") into its normalised form.
func ParseNormalizedNamed(s string) (Named, error) {
	if isIdentifier(s) {
		return Named{}, fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	domain, remainder := splitDockerDomain(s)
	remote := remainder
	if i := strings.IndexByte(remainder, ':'); i > -1 {
		remote = remainder[:i]
	}
	if strings.ToLower(remote) != remote {
		return Named{}, fmt.Errorf("invalid reference format: repository name (%s) must be lowercase", remote)
	}
	return parse(domain + "/" + remainder)
}

// ParseAnyReference parses s as a bare image ID (64 hex digits), a
// digest, or else a normalised named reference; named says which.
func ParseAnyReference(s string) (n Named, named bool, err error) {
	if isIdentifier(s) {
		return Named{digest: "sha256:" + s}, false, nil
	}
	if validateDigest(s) == nil {
		return Named{digest: s}, false, nil
	}
	n, err = ParseNormalizedNamed(s)
	return n, err == nil, err
}

func splitDockerDomain(name string) (domain, remainder string) {
	maybeDomain, maybeRemainder, ok := strings.Cut(name, "/")
	if !ok {
		return defaultDomain, officialRepoPrefix + name
	}
	switch {
	case maybeDomain == "localhost":
		domain, remainder = maybeDomain, maybeRemainder
	case maybeDomain == legacyDefaultDomain:
		domain, remainder = defaultDomain, maybeRemainder
	case strings.ContainsAny(maybeDomain, ".:"), strings.ToLower(maybeDomain) != maybeDomain:
		domain, remainder = maybeDomain, maybeRemainder
	default:
		domain, remainder = defaultDomain, name
	}
	if domain == defaultDomain && !strings.Contains(remainder, "/") {
		remainder = officialRepoPrefix + remainder
	}
	return domain, remainder
}

// parse is distribution/reference's Parse for a string that has a name.
func parse(s string) (Named, error) {
	n, ok := match(s)
	if !ok {
		if s == "" {
			return Named{}, ErrNameEmpty
		}
		if _, ok := match(strings.ToLower(s)); ok {
			return Named{}, ErrNameContainsUppercase
		}
		return Named{}, ErrReferenceInvalidFormat
	}
	if len(n.path) > nameTotalLengthMax {
		return Named{}, ErrNameTooLong
	}
	if n.digest != "" {
		if err := validateDigest(n.digest); err != nil {
			return Named{}, err
		}
	}
	if n.path == "" {
		return Named{}, ErrNameEmpty
	}
	return n, nil
}
