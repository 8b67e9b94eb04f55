package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// maxConcurrentDownloads is Docker's default max-concurrent-downloads.
const maxConcurrentDownloads = 3

// Pull fetches an image from its registry, like `docker pull`: it resolves
// a multi-platform index to the wanted platform, downloads the layers it
// lacks (several at once, each decompressed, verified and extracted as it
// streams in), and tags the image. Progress is reported in Docker's words.
func (s *Service) Pull(ctx context.Context, ref string, opts PullOptions, progress ProgressFunc) error {
	n, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	if reference.Digest(n) == "" {
		n = withDefaultTag(n)
	}
	plat, err := parsePlatform(opts.Platform)
	if err != nil {
		return err
	}
	rref, err := remoteRef(n)
	if err != nil {
		return err
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(authenticator(opts.RegistryAuth)), remote.WithUserAgent("berth")}
	tagOrDigest := reference.Tag(n)
	if d := reference.Digest(n); d != "" {
		tagOrDigest = d
	}
	// Errors up to here are the HTTP answer (nothing streamed yet), as
	// Docker's "pull access denied" and "manifest unknown" are.
	desc, err := remote.Get(rref, ropts...)
	if err != nil {
		return pullError(n, err)
	}
	img, err := pickImage(desc, plat)
	if err != nil {
		return err
	}
	progress.emit(ProgressEvent{ID: tagOrDigest, Status: "Pulling from " + reference.Path(familiarNamed(n))})
	raw, err := img.RawConfigFile()
	if err != nil {
		return pullError(n, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return pullError(n, err)
	}
	if mf.Config.Digest.String() != digestOf(raw) {
		return fmt.Errorf("image config digest mismatch: manifest says %s, got %s", mf.Config.Digest, digestOf(raw))
	}
	var cfg imageConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("invalid image config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(mf.Layers) {
		return fmt.Errorf("invalid image: %d layers in the manifest, %d in the config", len(mf.Layers), len(cfg.RootFS.DiffIDs))
	}
	diffIDs := make([]string, len(mf.Layers))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	chain := chainIDs(diffIDs)
	id := digestOf(raw)

	s.mu.RLock()
	_, existed := s.images[id]
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
				progress.emit(ProgressEvent{ID: l.Digest.Hex[:12], Status: "Already exists"})
			}
			continue
		}
		todo = append(todo, i)
		progress.emit(ProgressEvent{ID: l.Digest.Hex[:12], Status: "Pulling fs layer"})
	}
	if len(todo) > maxConcurrentDownloads {
		for _, i := range todo[maxConcurrentDownloads:] {
			progress.emit(ProgressEvent{ID: mf.Layers[i].Digest.Hex[:12], Status: "Waiting"})
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
	sem := make(chan struct{}, maxConcurrentDownloads)
	errs := make([]error, len(chain))
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			desc := mf.Layers[i]
			short := desc.Digest.Hex[:12]
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
			return errs[i]
		}
	}
	if err := ctxErr(ctx, errs); err != nil {
		return err
	}

	var refs []string
	if reference.Digest(n) == "" {
		refs = append(refs, n.String())
	}
	repoDigest, err := reference.WithDigest(n, desc.Digest.String())
	if err != nil {
		return err
	}
	if _, err := s.createImageRaw(raw, "", refs, repoDigest.String()); err != nil {
		return err
	}
	progress.emit(ProgressEvent{Status: "Digest: " + desc.Digest.String()})
	if existed && len(todo) == 0 {
		progress.emit(ProgressEvent{Status: "Status: Image is up to date for " + reference.Familiar(n)})
	} else {
		progress.emit(ProgressEvent{Status: "Status: Downloaded newer image for " + reference.Familiar(n)})
	}
	return nil
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

// pickImage resolves an index to the image for plat, as Docker words it
// when none matches.
func pickImage(desc *remote.Descriptor, plat ocispecPlatform) (v1.Image, error) {
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
	for i := range im.Manifests {
		m := &im.Manifests[i]
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		if m.Platform.OS != plat.OS || m.Platform.Architecture != plat.Architecture {
			continue
		}
		if plat.Variant != "" && m.Platform.Variant != plat.Variant && !(plat.Architecture == "arm64" && m.Platform.Variant == "v8") {
			continue
		}
		best = m
		break
	}
	if best == nil {
		p := plat.OS + "/" + plat.Architecture
		if plat.Variant != "" {
			p += "/" + plat.Variant
		}
		return nil, errdefs.NotFound("no matching manifest for %s in the manifest list entries", p)
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
	bw, err := s.content.Writer()
	if err != nil {
		return layerRecord{}, err
	}
	pr := &progressReader{r: rc, total: desc.Size, id: short, progress: progress}
	tee := io.TeeReader(pr, bw)
	rd, _, err := archive.Decompress(tee)
	if err != nil {
		bw.Abort()
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
		bw.Abort()
		return layerRecord{}, fmt.Errorf("failed to register layer: %w", err)
	}
	progress.emit(ProgressEvent{ID: short, Status: "Verifying Checksum"})
	s.holdBlob(desc.Digest.String())
	rec := layerRecord{DiffID: res.DiffID, Size: res.Size, TarSize: res.TarSize, Blob: &blobRef{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Size: bw.Size()}}
	if _, err := bw.Commit(desc.Digest.String()); err != nil {
		return rec, fmt.Errorf("layer %s: %w", short, err)
	}
	progress.emit(ProgressEvent{ID: short, Status: "Download complete"})
	progress.emit(ProgressEvent{ID: short, Status: "Extracting", Current: res.TarSize, Total: res.TarSize})
	return rec, nil
}

// progressReader reports "Downloading" at most every 100ms.
type progressReader struct {
	r        io.Reader
	n, total int64
	id       string
	last     time.Time
	progress ProgressFunc
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if now := time.Now(); n > 0 && (now.Sub(p.last) > 100*time.Millisecond || p.n == p.total) {
		p.last = now
		p.progress.emit(ProgressEvent{ID: p.id, Status: "Downloading", Current: p.n, Total: p.total})
	}
	return n, err
}

var _ = types.OCIManifestSchema1
