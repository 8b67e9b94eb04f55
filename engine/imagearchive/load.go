package imagearchive

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// maxMetadataFile caps the JSON files of an archive (manifests, configs).
const maxMetadataFile = 16 << 20

// Load imports the images of a `docker save` archive (docker format with
// manifest.json, or an OCI image layout with index.json), like `docker
// load`. Each image loaded is reported as a Stream line "Loaded image: x:y".
// The archive is unpacked into a private temp dir with the hostile-tar
// rules before anything in it is read.
func (s *Service) Load(ctx context.Context, r io.Reader, progress images.ProgressFunc) error {
	tmp, err := os.MkdirTemp(s.layers.TempDir(), "load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rd, _, err := archive.DecompressLimited(r, 0)
	if err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	defer rd.Close()
	if _, err := archive.Extract(rd, tmp, archive.Options{Unprivileged: true}); err != nil {
		return errdefs.Invalid("invalid archive: %s", err.Error())
	}
	l := &loader{s: s, root: tmp, progress: progress}
	if _, err := os.Lstat(filepath.Join(tmp, "manifest.json")); err == nil {
		return l.dockerArchive(ctx)
	}
	if _, err := os.Lstat(filepath.Join(tmp, "index.json")); err == nil {
		return l.ociLayout(ctx)
	}
	return errdefs.Invalid("invalid archive: no manifest.json or index.json found: is it the output of docker save?")
}

type loader struct {
	s        *Service
	root     string
	progress images.ProgressFunc
}

// open opens a file named by the archive, resolved inside it.
func (l *loader) open(name string) (*os.File, error) {
	p, err := securejoin.SecureJoin(l.root, path.Clean("/"+name))
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, errdefs.Invalid("invalid archive: %s is missing", name)
	}
	if !fi.Mode().IsRegular() {
		return nil, errdefs.Invalid("invalid archive: %s is not a regular file", name)
	}
	return os.Open(p)
}

func (l *loader) readJSON(name string, v any) ([]byte, error) {
	f, err := l.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadataFile))
	if err != nil {
		return nil, err
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			return nil, errdefs.Invalid("invalid archive: %s: %s", name, err.Error())
		}
	}
	return data, nil
}

func (l *loader) dockerArchive(ctx context.Context) error {
	var items []manifestItem
	if _, err := l.readJSON("manifest.json", &items); err != nil {
		return err
	}
	for _, it := range items {
		raw, err := l.readJSON(it.Config, nil)
		if err != nil {
			return err
		}
		var tags []reference.Named
		for _, t := range it.RepoTags {
			n, err := reference.ParseTagged(t)
			if err != nil {
				return err
			}
			tags = append(tags, n)
		}
		if err := l.loadImage(ctx, raw, it.Layers, tags); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) ociLayout(ctx context.Context) error {
	var idx ocispec.Index
	if _, err := l.readJSON("index.json", &idx); err != nil {
		return err
	}
	for _, d := range idx.Manifests {
		var tags []reference.Named
		if name := d.Annotations["io.containerd.image.name"]; name != "" {
			if n, err := reference.ParseTagged(name); err == nil {
				tags = append(tags, n)
			}
		} else if name := d.Annotations[ocispec.AnnotationRefName]; strings.ContainsAny(name, "/:") {
			if n, err := reference.ParseTagged(name); err == nil {
				tags = append(tags, n)
			}
		}
		m, err := l.resolveManifest(d, 0)
		if err != nil {
			return err
		}
		raw, err := l.readJSON(blobPath(m.Config.Digest.String()), nil)
		if err != nil {
			return err
		}
		if digest.FromBytes(raw).String() != m.Config.Digest.String() {
			return errdefs.Invalid("invalid archive: config digest mismatch")
		}
		var layers []string
		for _, ld := range m.Layers {
			layers = append(layers, blobPath(ld.Digest.String()))
		}
		if err := l.loadImage(ctx, raw, layers, tags); err != nil {
			return err
		}
	}
	return nil
}

func blobPath(d string) string {
	alg, hexPart, _ := strings.Cut(d, ":")
	return "blobs/" + alg + "/" + hexPart
}

// resolveManifest follows nested indexes down to the host platform's
// image manifest.
func (l *loader) resolveManifest(d ocispec.Descriptor, depth int) (*ocispec.Manifest, error) {
	if depth > 4 {
		return nil, errdefs.Invalid("invalid archive: indexes nested too deep")
	}
	switch d.MediaType {
	case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
		var idx ocispec.Index
		if _, err := l.readJSON(blobPath(d.Digest.String()), &idx); err != nil {
			return nil, err
		}
		host := platform.Host()
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS == host.OS && m.Platform.Architecture == host.Architecture {
				return l.resolveManifest(m, depth+1)
			}
		}
		return nil, errdefs.NotFound("no matching manifest for %s/%s in the archive", host.OS, host.Architecture)
	}
	var m ocispec.Manifest
	raw, err := l.readJSON(blobPath(d.Digest.String()), &m)
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(raw).String() != d.Digest.String() {
		return nil, errdefs.Invalid("invalid archive: manifest digest mismatch")
	}
	return &m, nil
}

func (l *loader) loadImage(ctx context.Context, raw []byte, layerPaths []string, tags []reference.Named) error {
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return errdefs.Invalid("invalid archive: image config: %s", err.Error())
	}
	if len(cfg.RootFS.DiffIDs) != len(layerPaths) {
		return errdefs.Invalid("invalid archive: %d layers listed, %d in the config", len(layerPaths), len(cfg.RootFS.DiffIDs))
	}
	diffIDs := make([]string, len(layerPaths))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	chain := snapshots.ChainIDs(diffIDs)
	var held, blobs []string
	defer func() {
		l.s.layers.ReleaseLayers(held)
		for _, b := range blobs {
			l.s.layers.ReleaseBlob(b)
		}
	}()
	for i, p := range layerPaths {
		if err := ctx.Err(); err != nil {
			return err
		}
		short := stringid.Short(diffIDs[i])
		_, err := l.s.layers.EnsureLayer(ctx, chain[i], func(dir string) (images.Layer, error) {
			f, err := l.open(p)
			if err != nil {
				return images.Layer{}, err
			}
			defer f.Close()
			l.progress.Send(images.ProgressEvent{ID: short, Status: "Loading layer"})
			rec, err := l.s.layers.ExtractLayer(dir, f, archive.Options{DiffID: diffIDs[i]})
			if err == nil {
				blobs = append(blobs, rec.Blob.Digest)
			}
			return rec, err
		})
		if err != nil {
			return err
		}
		held = append(held, chain[i])
	}
	var refs []string
	for _, t := range tags {
		refs = append(refs, t.String())
	}
	img, err := l.s.images.CreateImageRaw(raw, "", refs, "")
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		l.progress.Send(images.ProgressEvent{Stream: "Loaded image ID: " + img.ID + "\n"})
	}
	for _, t := range tags {
		l.progress.Send(images.ProgressEvent{Stream: "Loaded image: " + reference.Familiar(t) + "\n"})
	}
	l.s.images.LogEvent("load", img.ID, img.ID, img.ID)
	return nil
}
