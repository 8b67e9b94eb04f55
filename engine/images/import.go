package images

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/imagechange"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// ImportOptions are the parameters of Import (`docker import`).
type ImportOptions struct {
	// Ref ("name[:tag]") tags the new image; empty leaves it untagged.
	Ref string
	// Changes are Dockerfile instructions applied to the config.
	Changes []string
	// Message goes into the history and the config comment; empty means
	// "Imported from -".
	Message string
	// Platform ("linux/arm64"); empty means the host's.
	Platform string
}

// Import turns a rootfs tarball (plain, gzip, zstd or bzip2, detected by its
// magic bytes) into a one-layer image, like `docker import`.
func (s *Service) Import(ctx context.Context, src io.Reader, opts ImportOptions) (*Image, error) {
	named, err := parseNewTag(opts.Ref)
	if err != nil {
		return nil, err
	}
	plat, err := platform.Parse(opts.Platform)
	if err != nil {
		return nil, err
	}
	var cfg imageConfig
	if err := imagechange.Apply(&cfg.Config, opts.Changes); err != nil {
		return nil, err
	}
	msg := opts.Message
	if msg == "" {
		msg = "Imported from -"
	}

	rec, tmp, err := s.extractToTemp(src, archive.Options{})
	if err != nil {
		return nil, err
	}
	rec.ChainID = rec.DiffID
	existed, err := s.adoptLayer(tmp, rec)
	if err != nil {
		s.ReleaseBlob(rec.Blob.Digest)
		return nil, err
	}
	defer s.ReleaseLayers([]string{rec.ChainID})
	if existed {
		// The layer was there with its own blob: ours (maybe another
		// compression of the same tar) is not kept beside it. Deferred
		// first, so it runs after the release below.
		defer s.dropBlobIfUnused(rec.Blob.Digest)
	}
	defer s.ReleaseBlob(rec.Blob.Digest)

	created := time.Now().UTC()
	cfg.Created = &created
	cfg.Platform = plat
	cfg.Comment = msg
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: digests([]string{rec.DiffID})}
	cfg.History = []ocispec.History{{Created: &created, Comment: msg}}
	var refs []string
	if named != nil {
		refs = append(refs, named.String())
	}
	img, err := s.createImage(&cfg, "", refs)
	if err != nil {
		return nil, err
	}
	s.emit("import", img.ID, img.ID, img.ID)
	return img, nil
}

// extractToTemp decompresses and extracts a layer stream into a new temp
// directory, keeping the uncompressed tar as a blob (digest = diff ID, held
// until ReleaseBlob). The caller adopts or removes the directory.
func (s *Service) extractToTemp(src io.Reader, opts archive.Options) (Layer, string, error) {
	tmp, err := os.MkdirTemp(s.root+"/tmp", "layer-")
	if err != nil {
		return Layer{}, "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return Layer{}, "", err
	}
	rec, err := s.ExtractLayer(tmp, src, opts)
	if err != nil {
		os.RemoveAll(tmp)
		return rec, "", err
	}
	return rec, tmp, nil
}

// ExtractLayer decompresses and extracts a layer stream into dir and keeps
// one blob of it, held until ReleaseBlob(rec.Blob.Digest): the stream as
// received when it is a gzip or zstd layer (as a pull keeps it), else the
// uncompressed tar. Never both: a gzip bomb stored in both forms took twice
// the disk Docker uses.
func (s *Service) ExtractLayer(dir string, src io.Reader, opts archive.Options) (Layer, error) {
	br := bufio.NewReaderSize(src, 64<<10)
	head, _ := br.Peek(6)
	comp := archive.Detect(head)
	var mediaType string
	switch comp {
	case archive.Gzip:
		mediaType = string(types.DockerLayer)
	case archive.Zstd:
		mediaType = ocispec.MediaTypeImageLayerZstd
	}
	bw, err := s.newBlob()
	if err != nil {
		return Layer{}, err
	}
	var in io.Reader = br
	if mediaType != "" {
		in = io.TeeReader(br, bw)
	}
	rd, _, err := archive.Decompress(in)
	if err != nil {
		bw.Close()
		return Layer{}, errdefs.Invalid("%s", err.Error())
	}
	defer rd.Close()
	var tarIn io.Reader = rd
	if mediaType == "" {
		tarIn = io.TeeReader(rd, bw)
	}
	res, err := archive.Extract(tarIn, dir, opts)
	if err == nil && mediaType != "" {
		// The whole compressed stream is the blob: trailers included.
		if _, err = io.Copy(io.Discard, rd); err == nil {
			_, err = io.Copy(io.Discard, in)
		}
	}
	if err != nil {
		bw.Close()
		return Layer{}, errdefs.Invalid("invalid layer tarball: %s", err.Error())
	}
	digest := res.DiffID
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageLayer
	} else {
		digest = bw.Digest().String()
	}
	size := bw.Size()
	s.HoldBlob(digest)
	if err := commitBlob(bw, digest); err != nil {
		s.ReleaseBlob(digest)
		return Layer{}, err
	}
	return Layer{
		DiffID:  res.DiffID,
		Size:    res.Size,
		TarSize: res.TarSize,
		Blob:    &Blob{Digest: digest, MediaType: mediaType, Size: size},
	}, nil
}

// dropBlobIfUnused deletes blob d unless a hold, a pending layer or a
// layer record uses it.
func (s *Service) dropBlobIfUnused(d string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.blobUsedLocked(d) {
		_ = s.deleteBlob(d)
	}
}

func (s *Service) HoldBlob(d string) {
	s.mu.Lock()
	s.blobHolds[d]++
	s.mu.Unlock()
}

func (s *Service) ReleaseBlob(d string) {
	s.mu.Lock()
	if s.blobHolds[d]--; s.blobHolds[d] <= 0 {
		delete(s.blobHolds, d)
	}
	s.mu.Unlock()
}

// createImage serializes cfg, registers the image (its layers, listed by the
// config's diff IDs, must be held) and tags it with refs.
func (s *Service) createImage(cfg *imageConfig, parent string, refs []string) (*Image, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return s.CreateImageRaw(raw, parent, refs, "")
}

// CreateImageRaw registers the image whose config blob is raw. repoDigest,
// if set, is a normalized "name@sha256:..." reference for it.
func (s *Service) CreateImageRaw(raw []byte, parent string, refs []string, repoDigest string) (*Image, error) {
	var cfg imageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, errdefs.Invalid("invalid image config: %s", err.Error())
	}
	var diffIDs []string
	for _, d := range cfg.RootFS.DiffIDs {
		diffIDs = append(diffIDs, d.String())
	}
	chain := snapshots.ChainIDs(diffIDs)
	layers, err := s.Layers(chain)
	if err != nil {
		return nil, err
	}
	var size int64
	for _, l := range layers {
		size += l.Size
	}
	sum := sha256.Sum256(raw)
	rec := &imageRecord{
		ID:       "sha256:" + hex.EncodeToString(sum[:]),
		Config:   raw,
		Parent:   parent,
		ChainIDs: chain,
		Size:     size,
		Added:    time.Now().UTC(),
	}
	if repoDigest != "" {
		refs = append(refs, repoDigest)
	}
	if err := s.registerImage(rec, refs); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.toImageLocked(s.images[rec.ID]), nil
}

func digests(ds []string) []digest.Digest {
	out := make([]digest.Digest, len(ds))
	for i, d := range ds {
		out[i] = digest.Digest(d)
	}
	return out
}

func removeTemp(dir string) { _ = os.RemoveAll(dir) }

// MatchPlatform checks a create's --platform against a local image, with
// dockerd's error (a not-found, so clients pull the wanted variant) when
// they differ; ref is named as the client gave it. An empty platform
// matches any image.
func MatchPlatform(img *Image, ref, plat string) error {
	if plat == "" {
		return nil
	}
	want, err := platform.Parse(plat)
	if err != nil {
		return err
	}
	return platform.Check(ref, img.Config.OS, img.Config.Architecture, img.Config.Variant, want)
}
