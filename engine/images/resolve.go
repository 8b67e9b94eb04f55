package images

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// Resolve finds a local image by name[:tag] ("busybox" == "busybox:latest" ==
// "docker.io/library/busybox:latest"), name@sha256:digest, full ID
// "sha256:<hex>", bare hex ID, or unique short ID prefix. A missing image is
// errdefs.NotFound("No such image: <ref>").
func (s *Service) Resolve(ctx context.Context, ref string) (*Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.resolveLocked(ref)
	if rec == nil {
		return nil, errdefs.NotFound("No such image: %s", ref)
	}
	return s.toImageLocked(rec), nil
}

func (s *Service) resolveLocked(ref string) *imageRecord {
	if h, ok := strings.CutPrefix(ref, "sha256:"); ok {
		if rec := s.images[ref]; rec != nil {
			return rec
		}
		if stringid.IsHex(h) {
			return s.byPrefixLocked(h)
		}
		return nil
	}
	if stringid.IsFull(ref) {
		return s.images["sha256:"+ref]
	}
	if n, err := reference.Parse(ref); err == nil {
		key := n.String()
		if reference.Tag(n) == "" && reference.Digest(n) == "" {
			key += ":latest"
		}
		if id, ok := s.refs[key]; ok {
			return s.images[id]
		}
		// name:tag@digest: the digest decides.
		if d := reference.Digest(n); d != "" && reference.Tag(n) != "" {
			if c, err := reference.WithDigest(n, d); err == nil {
				if id, ok := s.refs[c.String()]; ok {
					return s.images[id]
				}
			}
		}
	}
	if stringid.IsHex(ref) {
		return s.byPrefixLocked(ref)
	}
	return nil
}

// byPrefixLocked returns the only image whose ID starts with the hex prefix.
func (s *Service) byPrefixLocked(prefix string) *imageRecord {
	var found *imageRecord
	for id, rec := range s.images {
		if strings.HasPrefix(id[len("sha256:"):], prefix) {
			if found != nil {
				return nil // ambiguous
			}
			found = rec
		}
	}
	return found
}

// refsOfLocked returns the familiar tags and digests naming id, sorted.
func (s *Service) refsOfLocked(id string) (tags, digests []string) {
	for r, target := range s.refs {
		if target != id {
			continue
		}
		n, err := reference.Parse(r)
		if err != nil {
			continue
		}
		if reference.Digest(n) != "" {
			digests = append(digests, reference.Familiar(n))
		} else {
			tags = append(tags, reference.Familiar(n))
		}
	}
	sort.Strings(tags)
	sort.Strings(digests)
	return tags, digests
}

// ConfigFile is the config blob as Berth writes it: the OCI/Docker config
// plus the legacy Docker fields that `docker inspect` shows.
type ConfigFile struct {
	dockerspec.DockerOCIImage
	Comment       string `json:"comment,omitempty"`
	Parent        string `json:"parent,omitempty"`
	Container     string `json:"container,omitempty"`
	DockerVersion string `json:"docker_version,omitempty"`
}

func (s *Service) toImageLocked(rec *imageRecord) *Image {
	var cfg ConfigFile
	_ = json.Unmarshal(rec.Config, &cfg)
	img := &Image{
		ID:      rec.ID,
		Parent:  rec.Parent,
		Size:    rec.Size,
		Config:  cfg.DockerOCIImage,
		Comment: cfg.Comment,
		Layers:  append([]string(nil), rec.ChainIDs...),
	}
	if cfg.Created != nil {
		img.Created = *cfg.Created
	} else {
		img.Created = time.Time{}
	}
	img.RepoTags, img.RepoDigests = s.refsOfLocked(rec.ID)
	if img.RepoTags == nil {
		img.RepoTags = []string{}
	}
	if img.RepoDigests == nil {
		img.RepoDigests = []string{}
	}
	return img
}

// List returns every image (all=false leaves out the untagged parents of
// other images, as `docker images` does).
func (s *Service) List(ctx context.Context, all bool) ([]*Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	parents := map[string]bool{}
	if !all {
		for _, rec := range s.images {
			if rec.Parent != "" {
				parents[rec.Parent] = true
			}
		}
	}
	out := make([]*Image, 0, len(s.images))
	for _, rec := range s.images {
		img := s.toImageLocked(rec)
		if !all && parents[rec.ID] && len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
			continue
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Children returns the IDs of the images whose parent is id.
func (s *Service) Children(id string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, rec := range s.images {
		if rec.Parent == id {
			out = append(out, rec.ID)
		}
	}
	return out
}
