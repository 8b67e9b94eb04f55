package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Pull fetches an image from its registry, like `docker pull`: it resolves
// a multi-platform index to the wanted platform, downloads the layers it
// lacks (several at once, each decompressed, verified and extracted as it
// streams in), and tags the image. Progress is reported in Docker's words.
// Errors before the first progress event are the whole answer (the API
// returns them as the HTTP status); later ones end the stream.
func (s *Service) Pull(ctx context.Context, ref string, opts PullOptions, progress ProgressFunc) error {
	n, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	plat, err := parsePlatform(opts.Platform)
	if err != nil {
		return err
	}
	p := &puller{s: s, cfg: s.registryCfg(), auth: authenticator(opts.RegistryAuth), plat: plat, progress: progress}
	if !opts.AllTags {
		if reference.Digest(n) == "" {
			n = withDefaultTag(n)
		}
		newer, err := p.pull(ctx, n)
		if err != nil {
			return err
		}
		progress.emit(ProgressEvent{Status: statusLine(newer, reference.Familiar(n))})
		return nil
	}
	if reference.Tag(n) != "" || reference.Digest(n) != "" {
		return errdefs.Invalid("tag can't be used with --all-tags/-a")
	}
	tags, err := p.listTags(ctx, n)
	if err != nil {
		return pullError(n, err)
	}
	if len(tags) == 0 {
		return errdefs.NotFound("no tags found for %s", reference.FamiliarName(n))
	}
	sort.Strings(tags)
	anyNewer := false
	for _, t := range tags {
		tn, err := reference.WithTag(n.Name(), t)
		if err != nil {
			return err
		}
		newer, err := p.pull(ctx, tn)
		if err != nil {
			return err
		}
		anyNewer = anyNewer || newer
	}
	progress.emit(ProgressEvent{Status: statusLine(anyNewer, reference.FamiliarName(n))})
	return nil
}

func statusLine(newer bool, name string) string {
	if newer {
		return "Status: Downloaded newer image for " + name
	}
	return "Status: Image is up to date for " + name
}

// puller is one Pull call: settings fixed at its start.
type puller struct {
	s        *Service
	cfg      *registryConfig
	auth     authn.Authenticator
	plat     ocispec.Platform
	progress ProgressFunc
}

// get fetches n's manifest (or index) from the first endpoint that has it:
// Docker Hub mirrors first, then the registry itself. A mirror that fails
// is skipped, as Docker does.
func (p *puller) get(ctx context.Context, n reference.Named) (*remote.Descriptor, endpoint, error) {
	var lastErr error
	for _, ep := range p.cfg.endpoints(n) {
		rref, err := ep.ref(n)
		if err != nil {
			return nil, ep, err
		}
		desc, err := remote.Get(rref, ep.remoteOptions(ctx, p.auth, 0)...)
		if err == nil {
			return desc, ep, nil
		}
		if ctx.Err() != nil {
			return nil, ep, ctx.Err()
		}
		lastErr = err
		if ep.mirror {
			p.s.log.Debug("registry mirror failed, trying the next endpoint", "mirror", ep.String(), "ref", n.String(), "err", err)
			continue
		}
	}
	return nil, endpoint{}, lastErr
}

func (p *puller) listTags(ctx context.Context, n reference.Named) ([]string, error) {
	var lastErr error
	for _, ep := range p.cfg.endpoints(n) {
		repo, err := ep.repo(n)
		if err != nil {
			return nil, err
		}
		tags, err := remote.List(repo, ep.remoteOptions(ctx, p.auth, 0)...)
		if err == nil {
			return tags, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// pull fetches one tag or digest; it reports whether anything changed
// locally (layers downloaded or the reference moved).
func (p *puller) pull(ctx context.Context, n reference.Named) (newer bool, err error) {
	s, progress := p.s, p.progress
	tagOrDigest := reference.Tag(n)
	if d := reference.Digest(n); d != "" {
		tagOrDigest = d
	}
	desc, ep, err := p.get(ctx, n)
	if err != nil {
		return false, pullError(n, err)
	}
	img, err := pickImage(desc, p.plat, n)
	if err != nil {
		return false, err
	}
	progress.emit(ProgressEvent{ID: tagOrDigest, Status: "Pulling from " + reference.Path(familiarNamed(n))})
	raw, err := img.RawConfigFile()
	if err != nil {
		return false, pullError(n, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return false, pullError(n, err)
	}
	if mf.Config.Digest.String() != digestOf(raw) {
		return false, fmt.Errorf("image config digest mismatch: manifest says %s, got %s", mf.Config.Digest, digestOf(raw))
	}
	var cfg imageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return false, fmt.Errorf("invalid image config: %w", err)
	}
	if !desc.MediaType.IsIndex() {
		if err := checkPlatform(n, cfg.OS, cfg.Architecture, cfg.Variant, p.plat); err != nil {
			return false, err
		}
	}
	if len(cfg.RootFS.DiffIDs) != len(mf.Layers) {
		return false, fmt.Errorf("invalid image: %d layers in the manifest, %d in the config", len(mf.Layers), len(cfg.RootFS.DiffIDs))
	}
	diffIDs := make([]string, len(mf.Layers))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	chain := chainIDs(diffIDs)
	id := digestOf(raw)
	repoDigest, err := reference.WithDigest(n, desc.Digest.String())
	if err != nil {
		return false, err
	}

	s.mu.RLock()
	_, existed := s.images[id]
	tagUpdated := reference.Digest(n) == "" && s.refs[n.String()] != id
	digestUpdated := s.refs[repoDigest.String()] != id
	s.mu.RUnlock()

	// Layers already here are held now so they cannot go away mid-pull.
	held := make([]bool, len(chain))
	defer func() {
		var hs []string
		for i, h := range held {
			if h {
				hs = append(hs, chain[i])
			}
		}
		s.releaseLayers(hs)
	}()
	var todo []int
	for i, l := range mf.Layers {
		if s.hasLayer(chain[i]) {
			held[i] = true
			if !existed {
				progress.emit(ProgressEvent{ID: shortHex(l.Digest.String()), Status: "Already exists"})
			}
			continue
		}
		todo = append(todo, i)
		progress.emit(ProgressEvent{ID: shortHex(l.Digest.String()), Status: "Pulling fs layer"})
	}
	jobs := p.cfg.maxDownloads
	if len(todo) > jobs {
		for _, i := range todo[jobs:] {
			progress.emit(ProgressEvent{ID: shortHex(mf.Layers[i].Digest.String()), Status: "Waiting"})
		}
	}
	var blobsMu sync.Mutex
	var blobs []string
	defer func() {
		for _, b := range blobs {
			s.releaseBlob(b)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Layers start in manifest order (bottom first), at most jobs at once,
	// as Docker's download manager does.
	sem := make(chan struct{}, jobs)
	errs := make([]error, len(chain))
	var wg sync.WaitGroup
	for _, i := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			desc := mf.Layers[i]
			short := shortHex(desc.Digest.String())
			_, err := s.ensureLayer(ctx, chain[i], func(dir string) (layerRecord, error) {
				rec, err := s.downloadLayer(ctx, img, desc, diffIDs[i], dir, short, progress)
				if rec.Blob != nil {
					blobsMu.Lock()
					blobs = append(blobs, rec.Blob.Digest)
					blobsMu.Unlock()
				}
				return rec, err
			})
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			held[i] = true
			progress.emit(ProgressEvent{ID: short, Status: "Pull complete"})
		}(i)
	}
	wg.Wait()
	for _, i := range todo {
		if errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
			return false, errs[i]
		}
	}
	if err := ctxErr(ctx, errs); err != nil {
		return false, err
	}

	var refs []string
	if reference.Digest(n) == "" {
		refs = append(refs, n.String())
	}
	if _, err := s.createImageRaw(raw, "", refs, repoDigest.String()); err != nil {
		return false, err
	}
	if ep.mirror {
		s.log.Debug("pulled from registry mirror", "mirror", ep.String(), "ref", n.String())
	}
	progress.emit(ProgressEvent{Status: "Digest: " + desc.Digest.String()})
	s.emit("pull", reference.Familiar(n), reference.FamiliarName(n), id)
	return !existed || len(todo) > 0 || tagUpdated || (reference.Digest(n) != "" && digestUpdated), nil
}

// checkPlatform refuses a single-platform image made for another platform,
// naming both.
func checkPlatform(n reference.Named, os, arch, variant string, want ocispec.Platform) error {
	if os == "" {
		os = "linux"
	}
	if arch == "" {
		return nil // an image without a platform (some scratch builds) runs anywhere
	}
	if os == want.OS && normalizeArch(arch) == want.Architecture && (want.Variant == "" || variant == "" || variant == want.Variant) {
		return nil
	}
	return errdefs.NotFound("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s",
		reference.Familiar(n), platformString(want.OS, want.Architecture, want.Variant), platformString(os, arch, variant))
}

func normalizeArch(a string) string {
	switch a {
	case "x86_64", "x86-64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return a
}

func platformString(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

func ctxErr(ctx context.Context, errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func familiarNamed(n reference.Named) reference.Named {
	if f, err := reference.Parse(reference.FamiliarName(n)); err == nil {
		return f
	}
	return n
}

// pickImage resolves an index to the image for plat; when none matches,
// the error names the wanted platform and the ones available.
func pickImage(desc *remote.Descriptor, plat ocispec.Platform, n reference.Named) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var best *v1.Descriptor
	var avail []string
	for i := range im.Manifests {
		m := &im.Manifests[i]
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		if m.Platform.OS == "unknown" {
			continue // attestation manifests
		}
		avail = append(avail, platformString(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant))
		if m.Platform.OS != plat.OS || normalizeArch(m.Platform.Architecture) != plat.Architecture {
			continue
		}
		if plat.Variant != "" && m.Platform.Variant != plat.Variant && !(plat.Architecture == "arm64" && m.Platform.Variant == "v8") {
			continue
		}
		if best == nil {
			best = m
		}
	}
	if best == nil {
		msg := "no matching manifest for " + platformString(plat.OS, plat.Architecture, plat.Variant) + " in the manifest list entries"
		if len(avail) > 0 {
			msg += ": " + reference.Familiar(n) + " is available for " + strings.Join(avail, ", ") + " only"
		}
		return nil, errdefs.NotFound("%s", msg)
	}
	return idx.Image(best.Digest)
}

// downloadLayer streams one layer: registry -> blob store (compressed,
// digest verified) and -> decompressor -> extractor (diff ID verified).
func (s *Service) downloadLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, diffID, dir, short string, progress ProgressFunc) (layerRecord, error) {
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return layerRecord{}, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return layerRecord{}, err
	}
	defer rc.Close()
	bw, err := s.newBlob()
	if err != nil {
		return layerRecord{}, err
	}
	pr := &progressReader{r: rc, total: desc.Size, id: short, status: "Downloading", progress: progress}
	tee := io.TeeReader(pr, bw)
	rd, _, err := archive.Decompress(tee)
	if err != nil {
		bw.Close()
		return layerRecord{}, err
	}
	res, err := archive.Extract(rd, dir, archive.Options{DiffID: diffID})
	if err == nil {
		// The compressed stream may go on past the tar end (trailers).
		_, err = io.Copy(io.Discard, rd)
		if err == nil {
			_, err = io.Copy(io.Discard, tee)
		}
	}
	rd.Close()
	if err != nil {
		bw.Close()
		return layerRecord{}, fmt.Errorf("failed to register layer: %w", err)
	}
	progress.emit(ProgressEvent{ID: short, Status: "Verifying Checksum"})
	s.holdBlob(desc.Digest.String())
	rec := layerRecord{DiffID: res.DiffID, Size: res.Size, TarSize: res.TarSize, Blob: &blobRef{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: bw.Size()}}
	if err := commitBlob(bw, desc.Digest.String()); err != nil {
		return rec, fmt.Errorf("layer %s: %w", short, err)
	}
	progress.emit(ProgressEvent{ID: short, Status: "Download complete"})
	progress.emit(ProgressEvent{ID: short, Status: "Extracting", Current: res.TarSize, Total: res.TarSize})
	return rec, nil
}

// progressReader reports status ("Downloading", "Pushing") with the bytes
// read so far, at most every 100ms and once at the end.
type progressReader struct {
	r        io.Reader
	n, total int64
	id       string
	status   string
	last     time.Time
	progress ProgressFunc
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); n > 0 && (now.Sub(p.last) > 100*time.Millisecond || p.n == p.total) {
		p.last = now
		p.progress.emit(ProgressEvent{ID: p.id, Status: p.status, Current: p.n, Total: p.total})
	}
	return n, err
}
