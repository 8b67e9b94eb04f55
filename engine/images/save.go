package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// manifestItem is one entry of a docker archive's manifest.json.
type manifestItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Save writes the images named by refs as one tar stream in the format of
// `docker save` (Docker 25+): an OCI image layout (index.json, oci-layout,
// blobs/sha256/...) plus the legacy manifest.json, with uncompressed layers.
// A repository name without tag saves every tag of that repository.
func (s *Service) Save(ctx context.Context, refs []string, w io.Writer) error {
	type entry struct {
		rec  *imageRecord
		tags []reference.Named
	}
	var order []string
	byID := map[string]*entry{}
	add := func(rec *imageRecord, tag reference.Named) {
		e, ok := byID[rec.ID]
		if !ok {
			e = &entry{rec: rec}
			byID[rec.ID] = e
			order = append(order, rec.ID)
		}
		if tag != nil {
			for _, t := range e.tags {
				if t.String() == tag.String() {
					return
				}
			}
			e.tags = append(e.tags, tag)
		}
	}
	s.mu.RLock()
	for _, r := range refs {
		rec := s.resolveLocked(r)
		if rec == nil {
			s.mu.RUnlock()
			return errdefs.NotFound("No such image: %s", r)
		}
		n, err := reference.Parse(r)
		if err != nil || isIDPrefix(rec.ID, r) {
			add(rec, nil)
			continue
		}
		if reference.Tag(n) == "" && reference.Digest(n) == "" && !strings.Contains(r, ":") {
			// The whole repository.
			var keys []string
			for k := range s.refs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				kn, err := reference.Parse(k)
				if err == nil && kn.Name() == n.Name() && reference.Tag(kn) != "" {
					add(s.images[s.refs[k]], kn)
				}
			}
			continue
		}
		if reference.Tag(n) != "" {
			add(rec, n)
		} else {
			add(rec, nil)
		}
	}
	s.mu.RUnlock()

	tw := tar.NewWriter(w)
	now := time.Unix(0, 0)
	writeFile := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	written := map[string]bool{}
	var manifest []manifestItem
	var index ocispec.Index
	index.SchemaVersion = 2
	index.MediaType = ocispec.MediaTypeImageIndex
	for _, id := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := byID[id]
		layers, err := s.Layers(e.rec.ChainIDs)
		if err != nil {
			return err
		}
		cfgPath := "blobs/sha256/" + shortHexFull(id)
		if !written[id] {
			if err := writeFile(cfgPath, e.rec.Config); err != nil {
				return err
			}
			written[id] = true
		}
		item := manifestItem{Config: cfgPath, RepoTags: []string{}}
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.Digest(id), Size: int64(len(e.rec.Config))}}
		m.SchemaVersion = 2
		for _, l := range layers {
			p := "blobs/sha256/" + shortHexFull(l.DiffID)
			if !written[l.DiffID] {
				if err := s.writeLayerTar(tw, p, l); err != nil {
					return err
				}
				written[l.DiffID] = true
			}
			item.Layers = append(item.Layers, p)
			m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.Digest(l.DiffID), Size: l.TarSize})
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		md := digest.FromBytes(raw).String()
		if !written[md] {
			if err := writeFile("blobs/sha256/"+shortHexFull(md), raw); err != nil {
				return err
			}
			written[md] = true
		}
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(md), Size: int64(len(raw))}
		if len(e.tags) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		for _, t := range e.tags {
			item.RepoTags = append(item.RepoTags, reference.Familiar(t))
			d := desc
			d.Annotations = map[string]string{
				"io.containerd.image.name":          t.String(),
				"org.opencontainers.image.ref.name": reference.Tag(t),
			}
			index.Manifests = append(index.Manifests, d)
		}
		manifest = append(manifest, item)
	}
	idx, _ := json.Marshal(index)
	if err := writeFile("index.json", idx); err != nil {
		return err
	}
	if err := writeFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	mj, _ := json.Marshal(manifest)
	if err := writeFile("manifest.json", mj); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	for _, id := range order {
		s.emit("save", id, id, id)
	}
	return nil
}

func shortHexFull(d string) string { return strings.TrimPrefix(d, "sha256:") }

// writeLayerTar writes a layer's uncompressed tar as one archive member,
// decompressing the stored blob if it is compressed.
func (s *Service) writeLayerTar(tw *tar.Writer, name string, l Layer) error {
	if l.Blob == nil {
		return fmt.Errorf("layer %s has no stored blob: it cannot be saved", l.ChainID)
	}
	size := l.TarSize
	if size == 0 || l.Blob.Digest == l.DiffID {
		if l.Blob.Digest == l.DiffID {
			size = l.Blob.Size
		} else if size, _ = s.uncompressedSize(l.Blob.Digest); size == 0 {
			return fmt.Errorf("layer %s: cannot read its blob", l.ChainID)
		}
	}
	f, err := s.openBlob(l.Blob.Digest)
	if err != nil {
		return fmt.Errorf("layer %s: %w", l.ChainID, err)
	}
	defer f.Close()
	rd, _, err := archive.Decompress(f)
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: size, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, rd, size); err != nil {
		return fmt.Errorf("layer %s: blob shorter than recorded: %w", l.ChainID, err)
	}
	return nil
}

func (s *Service) uncompressedSize(d string) (int64, error) {
	f, err := s.openBlob(d)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd, _, err := archive.Decompress(f)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	return io.Copy(io.Discard, rd)
}
