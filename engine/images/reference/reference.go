package reference

import (
	"strings"

	dref "github.com/distribution/reference"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Named is a parsed, normalized reference (docker.io/library/... form).
type Named = dref.Named

// Parse parses a user-supplied reference (name, name:tag, name@digest,
// name:tag@digest) into its normalized form. Errors read like Docker's:
// "invalid reference format", "invalid reference format: repository name
// (library/Busybox) must be lowercase".
func Parse(s string) (Named, error) {
	if s == "" {
		return nil, errdefs.Invalid("invalid reference format")
	}
	n, err := dref.ParseNormalizedNamed(s)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "invalid reference format") && !strings.HasPrefix(msg, "invalid repository name") {
			msg = "invalid reference format"
		}
		return nil, errdefs.Invalid("%s", msg)
	}
	return n, nil
}

// ParseTagged parses s and adds the "latest" tag when it has neither tag
// nor digest.
func ParseTagged(s string) (Named, error) {
	n, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return dref.TagNameOnly(n), nil
}

// ParseNewTag parses the reference a new tag, commit or import names its
// image with (ParseTagged); a digest is refused, as Docker does.
func ParseNewTag(s string) (Named, error) {
	n, err := ParseTagged(s)
	if err != nil {
		return nil, err
	}
	if Digest(n) != "" {
		return nil, errdefs.Invalid("refusing to create a tag with a digest reference")
	}
	return n, nil
}

// NewTagRefs lists the normalized references an import or commit tags its
// new image with: none for "", else the one ParseNewTag gives.
func NewTagRefs(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	n, err := ParseNewTag(s)
	if err != nil {
		return nil, err
	}
	return []string{n.String()}, nil
}

// WithTag returns name (a repository, possibly with a tag already) tagged
// tag; an empty tag means "latest" unless name already has one. This is the
// repo/tag pair of the tag and import endpoints.
func WithTag(repo, tag string) (Named, error) {
	n, err := Parse(repo)
	if err != nil {
		return nil, err
	}
	if _, ok := n.(dref.Digested); ok {
		return nil, errdefs.Invalid("refusing to create a tag with a digest reference")
	}
	if tag == "" {
		return dref.TagNameOnly(n), nil
	}
	t, err := dref.WithTag(dref.TrimNamed(n), tag)
	if err != nil {
		return nil, errdefs.Invalid("invalid tag format")
	}
	return t, nil
}

// Tag returns the tag of n, or "".
func Tag(n Named) string {
	if t, ok := n.(dref.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest returns the digest of n ("sha256:..."), or "".
func Digest(n Named) string {
	if d, ok := n.(dref.Digested); ok {
		return d.Digest().String()
	}
	return ""
}

// WithDigest returns the repository of n with digest d ("name@sha256:...").
func WithDigest(n Named, d string) (Named, error) {
	c, err := dref.WithDigest(dref.TrimNamed(n), digestOf(d))
	if err != nil {
		return nil, errdefs.Invalid("invalid digest %q", d)
	}
	return c, nil
}

// Repo returns the normalized repository name ("docker.io/library/busybox").
func Repo(n Named) string { return n.Name() }

// Familiar returns the short form users see ("busybox:latest",
// "localhost:5000/a/b:c", "busybox@sha256:...").
func Familiar(n Named) string { return dref.FamiliarString(n) }

// FamiliarName returns the short repository name ("busybox").
func FamiliarName(n Named) string { return dref.FamiliarName(n) }

// Domain returns the registry host of n ("docker.io").
func Domain(n Named) string { return dref.Domain(n) }

// Path returns the repository path within its registry ("library/busybox").
func Path(n Named) string { return dref.Path(n) }

// WithDefaultTag adds Docker's default tag (latest) to a reference that
// has neither tag nor digest.
func WithDefaultTag(n Named) Named {
	if Tag(n) == "" && Digest(n) == "" {
		if t, err := WithTag(n.String(), "latest"); err == nil {
			return t
		}
	}
	return n
}
