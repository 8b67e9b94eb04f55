package snapshots

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// A layer's blob is the tarball it came from, kept in the content store so
// that save and push send the exact bytes whose digest the config records.
// A blob committed for a layer not yet registered is held (HoldBlob) so GC
// leaves it; records keep digests as strings (their JSON form).

// HoldBlob keeps blob d from garbage collection until ReleaseBlob.
func (st *Store) HoldBlob(d string) {
	st.mu.Lock()
	st.blobHolds[d]++
	st.mu.Unlock()
}

// ReleaseBlob drops a hold taken by HoldBlob or ExtractLayer.
func (st *Store) ReleaseBlob(d string) {
	st.mu.Lock()
	st.releaseBlobLocked(d)
	st.mu.Unlock()
}

func (st *Store) releaseBlobLocked(d string) {
	if st.blobHolds[d]--; st.blobHolds[d] <= 0 {
		delete(st.blobHolds, d)
	}
}

// dropBlobIfUnused deletes blob d unless a hold, a held layer, a layer
// record or the builder uses it.
func (st *Store) dropBlobIfUnused(d string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.blobUsedLocked(d) && !(&keptOnce{st: st}).has(context.Background(), d) {
		_ = st.deleteBlob(d)
	}
}

// blobUsedLocked reports whether a hold, a registered or a held layer uses
// blob d.
func (st *Store) blobUsedLocked(d string) bool {
	if st.blobHolds[d] > 0 {
		return true
	}
	for _, p := range st.pending {
		if p.rec.Blob != nil && p.rec.Blob.Digest == d {
			return true
		}
	}
	return st.layerBlobs.used(st.db.Bolt(), d)
}

func (st *Store) deleteBlob(d string) error {
	return st.content.Delete(context.Background(), digest.Digest(d))
}

// ExtractLayer decompresses and extracts a layer stream into dir and keeps
// one blob of it, held until ReleaseBlob(rec.Blob.Digest): the stream as
// received when it is a gzip or zstd layer (as a pull keeps it), else the
// uncompressed tar. Never both: a gzip bomb stored in both forms took twice
// the disk Docker uses.
func (st *Store) ExtractLayer(dir string, src io.Reader, opts archive.Options) (Layer, error) {
	br := bufio.NewReaderSize(src, 64<<10)
	head, _ := br.Peek(6)
	var mediaType string
	switch archive.Detect(head) {
	case archive.Gzip:
		mediaType = string(types.DockerLayer)
	case archive.Zstd:
		mediaType = ocispec.MediaTypeImageLayerZstd
	}
	bw, err := st.content.Writer(context.Background())
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
	// The layer is made durable with one syncfs when it is adopted.
	opts.Writeback = true
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
	dgst := res.DiffID
	if mediaType == "" {
		mediaType = ocispec.MediaTypeImageLayer
	} else {
		dgst = bw.Digest().String()
	}
	size := bw.Size()
	st.HoldBlob(dgst)
	if err := bw.Commit(context.Background(), 0, digest.Digest(dgst)); err != nil {
		st.ReleaseBlob(dgst)
		return Layer{}, err
	}
	return Layer{
		DiffID:  res.DiffID,
		Size:    res.Size,
		TarSize: res.TarSize,
		Blob:    &Blob{Digest: dgst, MediaType: mediaType, Size: size},
	}, nil
}

// CompressLayers replaces the uncompressed stored tarball of each layer
// with its gzip form (same diff ID, new blob), so pushes send gzip layers
// as Docker does and later pushes find the compressed blob ready.
func (st *Store) CompressLayers(chainIDs []string) error {
	recs, err := st.Layers(chainIDs)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Blob == nil || r.Blob.Digest != r.DiffID {
			continue // already compressed
		}
		if err := st.compressLayer(r); err != nil {
			return err
		}
	}
	return nil
}

func (st *Store) compressLayer(r Layer) error {
	ctx := context.Background()
	f, err := content.Open(ctx, st.content, digest.Digest(r.Blob.Digest))
	if err != nil {
		return fmt.Errorf("layer %s: %w", stringid.Short(r.DiffID), err)
	}
	bw, err := st.content.Writer(ctx)
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
		return fmt.Errorf("compress layer %s: %w", stringid.Short(r.DiffID), err)
	}
	d := bw.Digest().String()
	size := bw.Size()
	st.HoldBlob(d)
	if err := bw.Commit(ctx, 0, ""); err != nil {
		st.ReleaseBlob(d)
		return err
	}
	old := r.Blob.Digest
	st.mu.Lock()
	defer st.mu.Unlock()
	err = st.db.Bolt().Update(func(tx *bolt.Tx) error {
		cur, ok, err := GetLayer(tx, r.ChainID)
		if err != nil || !ok {
			return err // !ok: removed meanwhile, GC takes the blob
		}
		if cur.Blob == nil || cur.Blob.Digest != cur.DiffID {
			return nil // compressed by a concurrent push
		}
		cur.Blob = &Blob{Digest: d, MediaType: string(types.DockerLayer), Size: size}
		if cur.TarSize == 0 {
			cur.TarSize = r.Blob.Size
		}
		cur.ChainID = r.ChainID
		return PutLayer(tx, cur)
	})
	st.releaseBlobLocked(d)
	// The builder may have records of the old blob (an image it built on,
	// a step's snapshot): then Berth's GC deletes it once it has none.
	if err == nil && !st.blobUsedLocked(old) && !(&keptOnce{st: st}).has(ctx, old) {
		if derr := st.deleteBlob(old); derr != nil {
			st.log.Warn("remove uncompressed layer blob", "digest", old, "err", derr)
		}
	}
	return err
}
