package imagearchive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/reference"
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
	set, err := s.resolveSaveSet(ctx, refs)
	if err != nil {
		return err
	}
	aw := &archiveWriter{tw: tar.NewWriter(w), written: map[string]bool{}}
	if err := aw.dirs("blobs/", "blobs/sha256/"); err != nil {
		return err
	}
	var manifest []manifestItem
	index := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	index.SchemaVersion = 2
	for _, e := range set.entries() {
		if err := ctx.Err(); err != nil {
			return err
		}
		item, descs, err := s.writeImage(aw, e)
		if err != nil {
			return err
		}
		manifest = append(manifest, item)
		index.Manifests = append(index.Manifests, descs...)
	}
	if err := aw.finish(index, manifest); err != nil {
		return err
	}
	for _, id := range set.order {
		s.images.LogEvent("save", id, id, id)
	}
	return nil
}

// saveSet is the images a save writes, each once, in the order first
// named, with the tags they are saved under.
type saveSet struct {
	order []string
	tags  map[string][]reference.Named
}

type saveEntry struct {
	id   string
	tags []reference.Named
}

func (set *saveSet) add(id string, tag reference.Named) {
	tags, ok := set.tags[id]
	if !ok {
		set.order = append(set.order, id)
	}
	if tag != nil {
		for _, t := range tags {
			if t.String() == tag.String() {
				return
			}
		}
		tags = append(tags, tag)
	}
	set.tags[id] = tags
}

func (set *saveSet) entries() []saveEntry {
	out := make([]saveEntry, 0, len(set.order))
	for _, id := range set.order {
		out = append(out, saveEntry{id: id, tags: set.tags[id]})
	}
	return out
}

// resolveSaveSet resolves refs as docker save does: an ID saves the image
// untagged, a tag saves it under that tag, a bare repository name every
// tag of the repository.
func (s *Service) resolveSaveSet(ctx context.Context, refs []string) (*saveSet, error) {
	set := &saveSet{tags: map[string][]reference.Named{}}
	for _, r := range refs {
		img, err := s.images.Resolve(ctx, r)
		if err != nil {
			return nil, err
		}
		n, err := reference.Parse(r)
		if err != nil || isIDPrefix(img.ID, r) {
			set.add(img.ID, nil)
			continue
		}
		if reference.Tag(n) == "" && reference.Digest(n) == "" && !strings.Contains(r, ":") {
			// The whole repository; references come sorted.
			for _, ref := range s.images.References() {
				kn, err := reference.Parse(ref.Name)
				if err == nil && kn.Name() == n.Name() && reference.Tag(kn) != "" {
					set.add(ref.ImageID, kn)
				}
			}
			continue
		}
		if reference.Tag(n) != "" {
			set.add(img.ID, n)
		} else {
			set.add(img.ID, nil)
		}
	}
	return set, nil
}

func isIDPrefix(id, ref string) bool {
	return strings.HasPrefix(id, ref) || (ref != "" && strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), ref))
}

// writeImage writes one image's config, layers and manifest (each blob
// once per archive) and returns its manifest.json item and its index
// entries: one per tag, or one untagged.
func (s *Service) writeImage(aw *archiveWriter, e saveEntry) (manifestItem, []ocispec.Descriptor, error) {
	raw, chain, err := s.images.RawConfig(e.id)
	if err != nil {
		return manifestItem{}, nil, err
	}
	layers, err := s.layers.Layers(chain)
	if err != nil {
		return manifestItem{}, nil, err
	}
	cfgPath := blobPath(e.id)
	if err := aw.blob(cfgPath, raw); err != nil {
		return manifestItem{}, nil, err
	}
	item := manifestItem{Config: cfgPath, RepoTags: []string{}}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.Digest(e.id), Size: int64(len(raw))}}
	m.SchemaVersion = 2
	for _, l := range layers {
		p := blobPath(l.DiffID)
		if !aw.written[p] {
			if err := s.writeLayerTar(aw.tw, p, l); err != nil {
				return manifestItem{}, nil, err
			}
			aw.written[p] = true
		}
		item.Layers = append(item.Layers, p)
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.Digest(l.DiffID), Size: l.TarSize})
	}
	mraw, err := json.Marshal(m)
	if err != nil {
		return manifestItem{}, nil, err
	}
	md := digest.FromBytes(mraw)
	if err := aw.blob(blobPath(md.String()), mraw); err != nil {
		return manifestItem{}, nil, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(mraw))}
	if len(e.tags) == 0 {
		return item, []ocispec.Descriptor{desc}, nil
	}
	var descs []ocispec.Descriptor
	for _, t := range e.tags {
		item.RepoTags = append(item.RepoTags, reference.Familiar(t))
		d := desc
		d.Annotations = map[string]string{
			"io.containerd.image.name":          t.String(),
			"org.opencontainers.image.ref.name": reference.Tag(t),
		}
		descs = append(descs, d)
	}
	return item, descs, nil
}

// archiveWriter writes the members of a save archive, with the fixed
// mtime and modes docker save uses.
type archiveWriter struct {
	tw      *tar.Writer
	written map[string]bool // blob paths already in the archive
}

func (aw *archiveWriter) dirs(names ...string) error {
	for _, d := range names {
		if err := aw.tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: time.Unix(0, 0), Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	return nil
}

func (aw *archiveWriter) file(name string, data []byte) error {
	if err := aw.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := aw.tw.Write(data)
	return err
}

// blob writes a blob file unless the archive has it already.
func (aw *archiveWriter) blob(name string, data []byte) error {
	if aw.written[name] {
		return nil
	}
	aw.written[name] = true
	return aw.file(name, data)
}

// finish writes the index, the layout marker and manifest.json, and ends
// the tar stream.
func (aw *archiveWriter) finish(index ocispec.Index, manifest []manifestItem) error {
	idx, _ := json.Marshal(index)
	if err := aw.file("index.json", idx); err != nil {
		return err
	}
	if err := aw.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	mj, _ := json.Marshal(manifest)
	if err := aw.file("manifest.json", mj); err != nil {
		return err
	}
	return aw.tw.Close()
}

// writeLayerTar writes a layer's uncompressed tar as one archive member,
// decompressing the stored blob if it is compressed.
func (s *Service) writeLayerTar(tw *tar.Writer, name string, l images.Layer) error {
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
	f, err := content.Open(context.Background(), s.content, digest.Digest(l.Blob.Digest))
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
	f, err := content.Open(context.Background(), s.content, digest.Digest(d))
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
