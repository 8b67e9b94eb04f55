package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/klauspost/readahead"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// Pull fetches an image from its registry, like `docker pull`: it resolves
// a multi-platform index to the wanted platform, downloads the layers it
// lacks (several at once, each decompressed, verified and extracted as it
// streams in), and tags the image. Progress is reported in Docker's words.
// Errors before the first progress event are the whole answer (the API
// returns them as the HTTP status); later ones end the stream.
func (s *Service) Pull(ctx context.Context, ref string, opts PullOptions, progress images.ProgressFunc) error {
	n, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	plat, err := platform.Parse(opts.Platform)
	if err != nil {
		return err
	}
	p := &puller{s: s, cfg: s.registryCfg(), auth: authenticator(opts.RegistryAuth), plat: plat, progress: progress}
	if !opts.AllTags {
		if reference.Digest(n) == "" {
			n = reference.WithDefaultTag(n)
		}
		newer, err := p.pull(ctx, n)
		if err != nil {
			return err
		}
		progress.Send(images.ProgressEvent{Status: statusLine(newer, reference.Familiar(n))})
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
	progress.Send(images.ProgressEvent{Status: statusLine(anyNewer, reference.FamiliarName(n))})
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
	progress images.ProgressFunc
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
	p.progress.Send(images.ProgressEvent{ID: tagOrDigest, Status: "Pulling from " + reference.Path(familiarNamed(n))})
	pi, err := p.readImage(n, img, !desc.MediaType.IsIndex())
	if err != nil {
		return false, err
	}
	repoDigest, err := reference.WithDigest(n, desc.Digest.String())
	if err != nil {
		return false, err
	}
	st := p.s.images
	existed := st.HasImage(pi.id)
	tagUpdated := reference.Digest(n) == "" && st.RefTarget(n.String()) != pi.id
	digestUpdated := st.RefTarget(repoDigest.String()) != pi.id

	f := &layerFetch{p: p, img: pi}
	// Held layers and blobs are released once the image is registered
	// (or the pull failed), never before: GC must not take them between.
	defer f.release()
	todo := f.holdPresent(existed)
	if err := f.download(ctx, todo); err != nil {
		return false, err
	}

	var refs []string
	if reference.Digest(n) == "" {
		refs = append(refs, n.String())
	}
	if _, err := st.CreateImageRaw(pi.raw, "", refs, repoDigest.String()); err != nil {
		return false, err
	}
	if ep.mirror {
		p.s.log.Debug("pulled from registry mirror", "mirror", ep.String(), "ref", n.String())
	}
	p.progress.Send(images.ProgressEvent{Status: "Digest: " + desc.Digest.String()})
	st.LogEvent("pull", reference.Familiar(n), reference.FamiliarName(n), pi.id)
	return !existed || len(todo) > 0 || tagUpdated || (reference.Digest(n) != "" && digestUpdated), nil
}

// pulledImage is the registry's image as pull checked it: its exact config
// and, per layer, the manifest's descriptor, the config's diff ID and the
// chain ID.
type pulledImage struct {
	img     v1.Image
	raw     []byte
	id      string
	layers  []v1.Descriptor
	diffIDs []string
	chain   []string
}

// readImage fetches the config and checks it against the manifest (digest,
// layer count) and, for an image not picked from an index, the platform.
func (p *puller) readImage(n reference.Named, img v1.Image, checkPlat bool) (*pulledImage, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, pullError(n, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return nil, pullError(n, err)
	}
	id := digest.FromBytes(raw).String()
	if mf.Config.Digest.String() != id {
		return nil, fmt.Errorf("image config digest mismatch: manifest says %s, got %s", mf.Config.Digest, id)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("invalid image config: %w", err)
	}
	if checkPlat {
		if err := platform.Check(reference.Familiar(n), cfg.OS, cfg.Architecture, cfg.Variant, p.plat); err != nil {
			return nil, err
		}
	}
	if len(cfg.RootFS.DiffIDs) != len(mf.Layers) {
		return nil, fmt.Errorf("invalid image: %d layers in the manifest, %d in the config", len(mf.Layers), len(cfg.RootFS.DiffIDs))
	}
	diffIDs := make([]string, len(mf.Layers))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	return &pulledImage{img: img, raw: raw, id: id, layers: mf.Layers, diffIDs: diffIDs, chain: snapshots.ChainIDs(diffIDs)}, nil
}

// layerFetch is the layers part of one pull: which layers it holds and
// which downloaded blobs it keeps from GC until the image is registered.
type layerFetch struct {
	p   *puller
	img *pulledImage

	mu    sync.Mutex
	held  []string
	blobs []string
}

// holdPresent holds the layers already here, so they cannot go away
// mid-pull, and returns the indexes of the others, reporting both in
// Docker's words.
func (f *layerFetch) holdPresent(imageExisted bool) (todo []int) {
	progress := f.p.progress
	for i, l := range f.img.layers {
		short := stringid.Short(l.Digest.String())
		if f.p.s.layers.HoldLayer(f.img.chain[i]) {
			f.held = append(f.held, f.img.chain[i])
			if !imageExisted {
				progress.Send(images.ProgressEvent{ID: short, Status: "Already exists"})
			}
			continue
		}
		todo = append(todo, i)
		progress.Send(images.ProgressEvent{ID: short, Status: "Pulling fs layer"})
	}
	if jobs := f.p.cfg.maxDownloads; len(todo) > jobs {
		for _, i := range todo[jobs:] {
			progress.Send(images.ProgressEvent{ID: stringid.Short(f.img.layers[i].Digest.String()), Status: "Waiting"})
		}
	}
	return todo
}

// download fetches the layers todo, in manifest order (bottom first), at
// most max-concurrent-downloads at once as Docker's download manager does;
// the first failure stops the others.
func (f *layerFetch) download(ctx context.Context, todo []int) error {
	return forEachLimited(ctx, len(todo), f.p.cfg.maxDownloads, func(ctx context.Context, k int) error {
		i := todo[k]
		desc := f.img.layers[i]
		short := stringid.Short(desc.Digest.String())
		_, err := f.p.s.layers.EnsureLayer(ctx, f.img.chain[i], func(dir string) (images.Layer, error) {
			rec, err := f.p.s.downloadLayer(ctx, f.img.img, desc, f.img.diffIDs[i], dir, short, f.p.progress)
			if rec.Blob != nil {
				f.mu.Lock()
				f.blobs = append(f.blobs, rec.Blob.Digest)
				f.mu.Unlock()
			}
			return rec, err
		})
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.held = append(f.held, f.img.chain[i])
		f.mu.Unlock()
		f.p.progress.Send(images.ProgressEvent{ID: short, Status: "Pull complete"})
		return nil
	})
}

func (f *layerFetch) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.p.s.layers.ReleaseLayers(f.held)
	for _, b := range f.blobs {
		f.p.s.layers.ReleaseBlob(b)
	}
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
		avail = append(avail, platform.Format(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant))
		if m.Platform.OS != plat.OS || platform.NormalizeArch(m.Platform.Architecture) != plat.Architecture {
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
		msg := "no matching manifest for " + platform.Format(plat.OS, plat.Architecture, plat.Variant) + " in the manifest list entries"
		if len(avail) > 0 {
			msg += ": " + reference.Familiar(n) + " is available for " + strings.Join(avail, ", ") + " only"
		}
		return nil, errdefs.NotFound("%s", msg)
	}
	return idx.Image(best.Digest)
}

// downloadLayer streams one layer: registry -> blob store (compressed,
// digest verified) and -> decompressor -> extractor (diff ID verified).
//
// The compressed stream is hashed once: go-containerregistry's download
// reads at most the manifest's size and hashes as it reads, and reports
// a size or digest mismatch in place of the stream's end; the blob store
// takes that digest (content.WithVerified) once the end was seen.
func (s *Service) downloadLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, diffID, dir, short string, progress images.ProgressFunc) (images.Layer, error) {
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return images.Layer{}, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return images.Layer{}, err
	}
	defer rc.Close()
	bw, err := s.content.Writer(ctx, content.WithVerified(digest.Digest(desc.Digest.String())))
	if err != nil {
		return images.Layer{}, err
	}
	src := &endReader{r: rc}
	pr := &progressReader{r: src, total: desc.Size, id: short, status: "Downloading", progress: progress}
	res, err := unpackStream(io.TeeReader(pr, bw), rc, dir, diffID)
	if err == nil && !src.end.Load() {
		err = fmt.Errorf("layer %s: the download was not read to its verified end", short)
	}
	if err != nil {
		bw.Close()
		return images.Layer{}, fmt.Errorf("failed to register layer: %w", err)
	}
	progress.Send(images.ProgressEvent{ID: short, Status: "Verifying Checksum"})
	s.layers.HoldBlob(desc.Digest.String())
	rec := images.Layer{DiffID: res.DiffID, Size: res.Size, TarSize: res.TarSize, Blob: &images.Blob{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: bw.Size()}}
	if err := bw.Commit(ctx, 0, digest.Digest(desc.Digest.String())); err != nil {
		return rec, fmt.Errorf("layer %s: %w", short, err)
	}
	progress.Send(images.ProgressEvent{ID: short, Status: "Download complete"})
	progress.Send(images.ProgressEvent{ID: short, Status: "Extracting", Current: res.TarSize, Total: res.TarSize})
	return rec, nil
}

// The stages of a layer's download run on their own goroutines, so
// download (with the blob store's write and digest), decompression and
// extraction overlap: with one big layer, the pull takes as long as the
// slowest stage rather than their sum.
const (
	stageBuffers    = 4
	stageBufferSize = 256 << 10
)

// unpackStream decompresses and extracts the compressed layer read from
// src into dir, verifying diffID, and reads src to its end. body is the
// network stream under src: closed first on failure, so that no stage
// waits on a stalled download.
func unpackStream(src io.Reader, body io.Closer, dir, diffID string) (archive.Result, error) {
	raw, err := readahead.NewReaderSize(src, stageBuffers, stageBufferSize)
	if err != nil {
		return archive.Result{}, err
	}
	defer raw.Close()
	rd, _, err := archive.DecompressLayer(raw)
	if err != nil {
		body.Close()
		return archive.Result{}, err
	}
	dec, err := readahead.NewReadCloserSize(rd, stageBuffers, stageBufferSize)
	if err != nil {
		rd.Close()
		return archive.Result{}, err
	}
	res, err := archive.Extract(dec, dir, archive.Options{DiffID: diffID, Writeback: true})
	if err == nil {
		// The compressed stream may go on past the tar end (trailers).
		if err = drain(dec); err == nil {
			err = drain(raw)
		}
	}
	if err != nil {
		body.Close()
	}
	dec.Close()
	return res, err
}

// drain reads r to its end. A readahead reader that has already returned
// its end answers io.EOF to WriteTo, which io.Copy then reports: not an error
// here (a truncated stream is io.ErrUnexpectedEOF, and the digests are
// checked after).
func drain(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// endReader records whether r returned io.EOF: a verifying download
// (go-containerregistry's) returns it only after the size and digest
// matched, an error instead.
type endReader struct {
	r   io.Reader
	end atomic.Bool // read by the caller, set by a stage's goroutine
}

func (e *endReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err == io.EOF {
		e.end.Store(true)
	}
	return n, err
}

// progressReader reports status ("Downloading", "Pushing") with the bytes
// read so far, at most every 100ms and once at the end.
type progressReader struct {
	r        io.Reader
	n, total int64
	id       string
	status   string
	last     time.Time
	progress images.ProgressFunc
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); n > 0 && (now.Sub(p.last) > 100*time.Millisecond || p.n == p.total) {
		p.last = now
		p.progress.Send(images.ProgressEvent{ID: p.id, Status: p.status, Current: p.n, Total: p.total})
	}
	return n, err
}
