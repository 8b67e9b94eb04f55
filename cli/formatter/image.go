package formatter

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/moby/moby/api/types/image"
)

const (
	DefaultImageTable       = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	DefaultImageTableDigest = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	QuietImageFormat        = "{{.ID}}"
)

// imageHeaders are the column titles of `images`.
func imageHeaders() Headers {
	return Headers{
		"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
		"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
		"Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
		"VirtualSize": "SIZE",
	}
}

// ImageFormat picks the images template from the flags, as docker does.
func ImageFormat(source string, quiet, digest bool) Format {
	switch source {
	case "", TableFormatKey:
		if quiet {
			return QuietImageFormat
		}
		if digest {
			return Format("table " + DefaultImageTableDigest)
		}
		return Format("table " + DefaultImageTable)
	}
	return Format(source)
}

// ImageContext is one `images` row.
type ImageContext struct {
	I       image.Summary
	Repo    string
	TagV    string
	DigestV string
	Trunc   bool
}

func (c ImageContext) MarshalJSON() ([]byte, error) { return MarshalMethods(c) }

func (c ImageContext) ID() string {
	if c.Trunc {
		return TruncateID(c.I.ID)
	}
	return c.I.ID
}
func (c ImageContext) Repository() string { return c.Repo }
func (c ImageContext) Tag() string        { return c.TagV }
func (c ImageContext) Digest() string     { return c.DigestV }
func (c ImageContext) CreatedSince() string {
	if c.I.Created <= 0 {
		return "N/A"
	}
	return HumanSince(c.I.Created)
}
func (c ImageContext) CreatedAt() string   { return time.Unix(c.I.Created, 0).String() }
func (c ImageContext) Size() string        { return HumanSize(c.I.Size) }
func (c ImageContext) VirtualSize() string { return HumanSize(c.I.Size) }
func (c ImageContext) Containers() string {
	if c.I.Containers == -1 {
		return "N/A"
	}
	return strconv.FormatInt(c.I.Containers, 10)
}
func (c ImageContext) SharedSize() string {
	if c.I.SharedSize == -1 {
		return "N/A"
	}
	return HumanSize(c.I.SharedSize)
}
func (c ImageContext) UniqueSize() string {
	if c.I.SharedSize == -1 {
		return "N/A"
	}
	return HumanSize(c.I.Size - c.I.SharedSize)
}

// ImageRows expands image summaries into one row per repository:tag (and
// per digest with digest), with "<none>" for dangling images, following
// docker's rules.
func ImageRows(images []image.Summary, digest, trunc bool) []ImageContext {
	var out []ImageContext
	for _, img := range images {
		repoTags := map[string][]string{}
		repoDigests := map[string][]string{}
		var repoOrder []string
		for _, s := range img.RepoTags {
			ref, err := imageref.ParseNormalizedNamed(s)
			if err != nil {
				continue
			}
			if ref.Tag() != "" {
				name := ref.FamiliarName()
				if _, seen := repoTags[name]; !seen {
					repoOrder = append(repoOrder, name)
				}
				repoTags[name] = append(repoTags[name], ref.Tag())
			}
		}
		for _, s := range img.RepoDigests {
			ref, err := imageref.ParseNormalizedNamed(s)
			if err != nil {
				continue
			}
			if ref.Digest() != "" {
				name := ref.FamiliarName()
				repoDigests[name] = append(repoDigests[name], ref.Digest())
			}
		}
		n := len(out)
		for _, repo := range repoOrder {
			digests := repoDigests[repo]
			delete(repoDigests, repo)
			if !digest {
				digests = nil
			}
			for _, tag := range repoTags[repo] {
				if len(digests) == 0 {
					out = append(out, ImageContext{I: img, Repo: repo, TagV: tag, DigestV: "<none>", Trunc: trunc})
					continue
				}
				for _, d := range digests {
					out = append(out, ImageContext{I: img, Repo: repo, TagV: tag, DigestV: d, Trunc: trunc})
				}
			}
		}
		rest := make([]string, 0, len(repoDigests))
		for repo := range repoDigests {
			rest = append(rest, repo)
		}
		sort.Strings(rest)
		for _, repo := range rest {
			if digest {
				for _, d := range repoDigests[repo] {
					out = append(out, ImageContext{I: img, Repo: repo, TagV: "<none>", DigestV: d, Trunc: trunc})
				}
			} else {
				out = append(out, ImageContext{I: img, Repo: repo, TagV: "<none>", DigestV: "<none>", Trunc: trunc})
			}
		}
		if len(out) == n {
			out = append(out, ImageContext{I: img, Repo: "<none>", TagV: "<none>", DigestV: "<none>", Trunc: trunc})
		}
	}
	return out
}

// WriteImages renders an images listing.
func WriteImages(ctx Context, images []image.Summary, digest, trunc bool) error {
	ctx.DefaultTable = DefaultImageTable
	if digest {
		ctx.DefaultTable = DefaultImageTableDigest
	}
	return WriteRows(&ctx, ImageRows(images, digest, trunc), imageHeaders())
}

// historyHeaders are the column titles of `history`.
func historyHeaders() Headers {
	return Headers{
		"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
		"CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
	}
}

const DefaultHistoryTable = "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

// HistoryContext is one `history` row.
type HistoryContext struct {
	H     image.HistoryResponseItem
	Trunc bool
	Human bool
}

func (c HistoryContext) MarshalJSON() ([]byte, error) { return MarshalMethods(c) }

func (c HistoryContext) ID() string {
	if c.H.ID == "" || c.H.ID == "<missing>" {
		return "<missing>"
	}
	if c.Trunc {
		return TruncateID(c.H.ID)
	}
	return c.H.ID
}
func (c HistoryContext) CreatedAt() string {
	if c.Human {
		return time.Unix(c.H.Created, 0).Format(time.RFC3339)
	}
	return time.Unix(c.H.Created, 0).Format(time.RFC3339)
}
func (c HistoryContext) CreatedSince() string {
	if !c.Human {
		return c.CreatedAt()
	}
	return HumanSince(c.H.Created)
}
func (c HistoryContext) CreatedBy() string {
	cb := strings.ReplaceAll(c.H.CreatedBy, "\t", " ")
	if c.Trunc {
		cb = Ellipsis(cb, 45)
	}
	return cb
}
func (c HistoryContext) Size() string {
	if c.Human {
		return HumanSize(c.H.Size)
	}
	return strconv.FormatInt(c.H.Size, 10)
}
func (c HistoryContext) Comment() string { return c.H.Comment }

// WriteHistory renders an image's history.
func WriteHistory(ctx Context, items []image.HistoryResponseItem, trunc, human bool) error {
	ctx.DefaultTable = DefaultHistoryTable
	rows := make([]HistoryContext, 0, len(items))
	for _, h := range items {
		rows = append(rows, HistoryContext{H: h, Trunc: trunc, Human: human})
	}
	return WriteRows(&ctx, rows, historyHeaders())
}
