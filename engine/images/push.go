package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Push uploads a local image to its registry, like `docker push`. A
// reference without a tag pushes every tag of the repository.
func (s *Service) Push(ctx context.Context, ref string, opts PushOptions, progress ProgressFunc) error {
	n, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	if reference.Digest(n) != "" {
		return errdefs.Invalid("cannot push a digest reference")
	}
	var targets []reference.Named
	if reference.Tag(n) != "" {
		targets = append(targets, n)
	} else {
		s.mu.RLock()
		for r := range s.refs {
			if rn, err := reference.Parse(r); err == nil && rn.Name() == n.Name() && reference.Tag(rn) != "" {
				targets = append(targets, rn)
			}
		}
		s.mu.RUnlock()
		sort.Slice(targets, func(i, j int) bool { return targets[i].String() < targets[j].String() })
	}
	if len(targets) == 0 {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	progress.emit(ProgressEvent{Status: "The push refers to repository [" + n.Name() + "]"})
	for _, t := range targets {
		if err := s.pushOne(ctx, t, opts, progress); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) pushOne(ctx context.Context, n reference.Named, opts PushOptions, progress ProgressFunc) error {
	s.mu.RLock()
	id, ok := s.refs[n.String()]
	rec := s.images[id]
	s.mu.RUnlock()
	if !ok || rec == nil {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	// Docker pushes gzip layers: tarballs kept uncompressed (import,
	// commit, load) are compressed once and kept that way.
	if err := s.gzipLayers(rec); err != nil {
		return err
	}
	img, layers, err := s.v1Image(rec)
	if err != nil {
		return err
	}
	cfg := s.registryCfg()
	domain := reference.Domain(n)
	ep := endpoint{host: domain, insecure: domain != "docker.io" && cfg.insecure(domain)}
	rref, err := ep.ref(n)
	if err != nil {
		return err
	}
	repo := rref.Context()
	ropts := ep.remoteOptions(ctx, authenticator(opts.RegistryAuth), 0)

	// Docker lists layers top first; the same order is used for uploads.
	order := make([]*localLayer, 0, len(layers))
	from := make([]string, 0, len(layers))
	seen := map[string]bool{}
	for i := len(layers) - 1; i >= 0; i-- {
		if !seen[layers[i].blob.Digest] {
			seen[layers[i].blob.Digest] = true
			order = append(order, layers[i])
			from = append(from, s.mountSource(n, rec.ChainIDs[i]))
		}
	}
	for _, l := range order {
		progress.emit(ProgressEvent{ID: shortHex(l.diffID), Status: "Preparing"})
	}
	jobs := cfg.maxUploads
	for i, l := range order {
		if i >= jobs {
			progress.emit(ProgressEvent{ID: shortHex(l.diffID), Status: "Waiting"})
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, jobs)
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, l := range order {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(i int, l *localLayer) {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = s.pushLayer(ctx, repo, l, from[i], ep, ropts, progress)
			if errs[i] != nil {
				cancel()
			}
		}(i, l)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return pushError(n, err)
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := remote.Write(rref, img, ropts...); err != nil {
		return pushError(n, err)
	}
	d, _ := img.Digest()
	raw, _ := img.RawManifest()
	tag := reference.Tag(n)
	progress.emit(ProgressEvent{Status: fmt.Sprintf("%s: digest: %s size: %d", tag, d, len(raw))})
	// Docker sends the result again as its own aux message (clients skip
	// aux messages when printing).
	progress.emit(ProgressEvent{Aux: map[string]any{"Tag": tag, "Digest": d.String(), "Size": len(raw)}})
	if c, err := reference.WithDigest(n, d.String()); err == nil {
		s.mu.Lock()
		if err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bucketRefs)).Put([]byte(c.String()), []byte(rec.ID))
		}); err == nil {
			s.refs[c.String()] = rec.ID
		}
		s.mu.Unlock()
	}
	s.emit("push", reference.Familiar(n), reference.FamiliarName(n), rec.ID)
	return nil
}

// mountSource names another repository of n's registry that received or
// served the layer chainID (it has a digest reference there), for a
// cross-repository mount instead of an upload; "" when none.
func (s *Service) mountSource(n reference.Named, chainID string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var keys []string
	for k := range s.refs {
		if strings.Contains(k, "@") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		kn, err := reference.Parse(k)
		if err != nil || reference.Domain(kn) != reference.Domain(n) || kn.Name() == n.Name() {
			continue
		}
		rec := s.images[s.refs[k]]
		if rec == nil {
			continue
		}
		for _, c := range rec.ChainIDs {
			if c == chainID {
				return reference.Path(kn)
			}
		}
	}
	return ""
}

// pushLayer uploads one layer unless the registry has it already, or mounts
// it from repository from (same registry) when that works.
func (s *Service) pushLayer(ctx context.Context, repo name.Repository, l *localLayer, from string, ep endpoint, ropts []remote.Option, progress ProgressFunc) error {
	short := shortHex(l.diffID)
	h, err := v1.NewHash(l.blob.Digest)
	if err != nil {
		return err
	}
	if rl, err := remote.Layer(repo.Digest(h.String()), ropts...); err == nil {
		if ok, err := partial.Exists(rl); err == nil && ok {
			progress.emit(ProgressEvent{ID: short, Status: "Layer already exists"})
			return nil
		}
	}
	pl := &progressLayer{localLayer: l, progress: progress}
	layer, err := partial.CompressedToLayer(pl)
	if err != nil {
		return err
	}
	if from != "" {
		if src, err := ep.repoPath(from); err == nil {
			layer = &remote.MountableLayer{Layer: layer, Reference: src.Digest(h.String())}
		}
	}
	progress.emit(ProgressEvent{ID: short, Status: "Pushing", Current: 0, Total: l.blob.Size})
	if err := remote.WriteLayer(repo, layer, ropts...); err != nil {
		return err
	}
	if from != "" && pl.reads.Load() == 0 {
		// The registry mounted the blob: nothing was read for upload.
		progress.emit(ProgressEvent{ID: short, Status: "Mounted from " + from})
		return nil
	}
	progress.emit(ProgressEvent{ID: short, Status: "Pushed"})
	return nil
}

// progressLayer reports "Pushing" progress as the blob is read for upload.
type progressLayer struct {
	*localLayer
	progress ProgressFunc
	reads    atomic.Int32 // Compressed calls: 0 after a mount
}

func (l *progressLayer) Compressed() (io.ReadCloser, error) {
	l.reads.Add(1)
	f, err := l.localLayer.Compressed()
	if err != nil {
		return nil, err
	}
	pr := &progressReader{r: f, total: l.blob.Size, id: shortHex(l.diffID), status: "Pushing", progress: l.progress}
	return struct {
		io.Reader
		io.Closer
	}{pr, f}, nil
}

// pushError words registry refusals as Docker does.
func pushError(n reference.Named, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == 401 || te.StatusCode == 403) {
		return errdefs.Forbidden("denied: requested access to the resource is denied (push to %s): %v", reference.FamiliarName(n), err)
	}
	return err
}

// gzipLayers replaces the uncompressed stored tarball of each layer of rec
// with its gzip form (same diff ID, new blob), so pushes send gzip layers
// as Docker does and later pushes find the compressed blob ready.
func (s *Service) gzipLayers(rec *imageRecord) error {
	recs, err := s.layerRecords(rec.ChainIDs)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Blob == nil || r.Blob.Digest != r.DiffID {
			continue // already compressed
		}
		f, err := s.openBlob(r.Blob.Digest)
		if err != nil {
			return fmt.Errorf("layer %s: %w", shortHex(r.DiffID), err)
		}
		bw, err := s.newBlob()
		if err != nil {
			f.Close()
			return err
		}
		zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
		_, err = io.Copy(zw, f)
		f.Close()
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			bw.Close()
			return fmt.Errorf("compress layer %s: %w", shortHex(r.DiffID), err)
		}
		d := bw.Digest().String()
		size := bw.Size()
		s.holdBlob(d)
		if err := commitBlob(bw, ""); err != nil {
			s.releaseBlob(d)
			return err
		}
		old := r.Blob.Digest
		s.mu.Lock()
		err = s.db.Bolt().Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucketLayers))
			v := b.Get([]byte(r.ChainID))
			if v == nil {
				return nil // removed meanwhile: GC takes the blob
			}
			var cur layerRecord
			if err := json.Unmarshal(v, &cur); err != nil {
				return err
			}
			if cur.Blob == nil || cur.Blob.Digest != cur.DiffID {
				return nil // compressed by a concurrent push
			}
			cur.Blob = &blobRef{Digest: d, MediaType: string(types.DockerLayer), Size: size}
			if cur.TarSize == 0 {
				cur.TarSize = r.Blob.Size
			}
			data, err := json.Marshal(cur)
			if err != nil {
				return err
			}
			return b.Put([]byte(r.ChainID), data)
		})
		s.blobHolds[d]--
		if s.blobHolds[d] <= 0 {
			delete(s.blobHolds, d)
		}
		if err == nil && !s.blobUsedLocked(old) {
			if derr := s.deleteBlob(old); derr != nil {
				s.log.Warn("remove uncompressed layer blob", "digest", old, "err", derr)
			}
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func shortHex(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// localLayer is a layer blob of the content store as go-containerregistry
// sees it.
type localLayer struct {
	s      *Service
	blob   blobRef
	diffID string
}

func (l *localLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.blob.Digest) }
func (l *localLayer) DiffID() (v1.Hash, error) { return v1.NewHash(l.diffID) }
func (l *localLayer) Size() (int64, error)     { return l.blob.Size, nil }
func (l *localLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.blob.MediaType), nil
}
func (l *localLayer) Compressed() (io.ReadCloser, error) { return l.s.openBlob(l.blob.Digest) }
func (l *localLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("uncompressed read of a pushed layer is not supported")
}

type localImage struct {
	raw, manifest []byte
	mt            types.MediaType
	layers        map[string]*localLayer
}

func (i *localImage) RawConfigFile() ([]byte, error)      { return i.raw, nil }
func (i *localImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *localImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *localImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h.String()]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("layer %s not found", h)
}

// v1Image builds the registry form of a local image: its exact config and
// the layer blobs it was made from, under a manifest of the fitting type
// (Docker's when every layer is Docker-typed, else OCI).
func (s *Service) v1Image(rec *imageRecord) (v1.Image, []*localLayer, error) {
	recs, err := s.layerRecords(rec.ChainIDs)
	if err != nil {
		return nil, nil, err
	}
	docker := len(recs) > 0
	for _, r := range recs {
		if r.Blob == nil {
			return nil, nil, fmt.Errorf("layer %s has no stored blob: it cannot be pushed or saved", r.ChainID)
		}
		if !strings.HasPrefix(r.Blob.MediaType, "application/vnd.docker.") {
			docker = false
		}
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rec.Config))}
	if docker {
		m.MediaType, m.Config.MediaType = types.DockerManifestSchema2, types.DockerConfigJSON
	}
	h, _ := v1.NewHash(rec.ID)
	m.Config.Digest = h
	li := &localImage{raw: rec.Config, mt: m.MediaType, layers: map[string]*localLayer{}}
	var layers []*localLayer
	for _, r := range recs {
		mt := types.MediaType(r.Blob.MediaType)
		if !docker {
			mt = ociLayerType(mt)
		}
		l := &localLayer{s: s, blob: blobRef{Digest: r.Blob.Digest, MediaType: string(mt), Size: r.Blob.Size}, diffID: r.DiffID}
		d, _ := v1.NewHash(r.Blob.Digest)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: r.Blob.Size, Digest: d})
		li.layers[r.Blob.Digest] = l
		layers = append(layers, l)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	li.manifest = raw
	img, err := partial.CompressedToImage(li)
	return img, layers, err
}

func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer, types.DockerForeignLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	}
	return mt
}
