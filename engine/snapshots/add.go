package snapshots

import (
	"context"
	"io"
	"os"

	"github.com/berth-dev/berth/engine/images/archive"
)

// EmptyTarDiffID is the diff ID of a tar with no entries: DiffLayer's
// answer for a writable layer that changed nothing.
const EmptyTarDiffID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// The operations below add one layer on top of a chain and hold it (with
// its blob) until the returned release is called: the caller registers an
// image naming the layer in between, else the layer goes at release.

// AddLayer extracts the layer stream src (a tar, plain or gzip, zstd or
// bzip2 compressed, detected by its magic bytes) as a new layer on top of
// the chain parent ("" for a base layer, as `docker import` makes). If that
// layer exists already, the existing one is held and the new copy dropped.
func (st *Store) AddLayer(ctx context.Context, parent string, src io.Reader, opts archive.Options) (Layer, func(), error) {
	tmp, err := st.newLayerDir()
	if err != nil {
		return Layer{}, nil, err
	}
	rec, err := st.ExtractLayer(tmp, src, opts)
	if err != nil {
		os.RemoveAll(tmp)
		return Layer{}, nil, err
	}
	return st.AdoptLayer(tmp, parent, rec)
}

// AdoptLayer moves dir, a layer extracted by ExtractLayer into a
// directory below TempDir, into place as rec on top of the chain parent
// ("" for a base layer); it sets rec's ChainID and Parent and takes over
// the hold on rec's blob. If that layer exists already, dir is removed,
// the existing layer is held and returned, and rec's blob goes at release
// unless a layer uses it.
func (st *Store) AdoptLayer(dir, parent string, rec Layer) (Layer, func(), error) {
	rec.ChainID = ChildChainID(parent, rec.DiffID)
	rec.Parent = parent
	existed, err := st.adopt(dir, rec)
	if err != nil {
		if rec.Blob != nil {
			st.ReleaseBlob(rec.Blob.Digest)
		}
		return Layer{}, nil, err
	}
	release := func() {
		if rec.Blob != nil {
			st.ReleaseBlob(rec.Blob.Digest)
			if existed {
				// The layer was there with its own blob: ours (maybe
				// another compression of the same tar) is not kept
				// beside it.
				st.dropBlobIfUnused(rec.Blob.Digest)
			}
		}
		st.ReleaseLayers([]string{rec.ChainID})
	}
	if existed {
		// The answer is the layer as it is: its blob, not ours.
		if cur, err := st.Layers([]string{rec.ChainID}); err == nil {
			return cur[0], release, nil
		}
	}
	return rec, release, nil
}

// DiffLayer makes a container's writable layer (upper, the overlay's upper
// directory) a new layer on top of the chain parent, whiteouts as Docker's
// ".wh." entries. A writable layer that changed nothing adds no layer: the
// answer then has DiffID EmptyTarDiffID and no ChainID.
func (st *Store) DiffLayer(ctx context.Context, upper, parent string) (Layer, func(), error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(archive.WriteTar(ctx, pw, upper, archive.TarOptions{Whiteouts: true}))
	}()
	tmp, err := st.newLayerDir()
	if err != nil {
		pr.CloseWithError(err)
		return Layer{}, nil, err
	}
	rec, err := st.ExtractLayer(tmp, pr, archive.Options{})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		os.RemoveAll(tmp)
		return Layer{}, nil, err
	}
	if rec.DiffID == EmptyTarDiffID {
		os.RemoveAll(tmp)
		return rec, func() {
			st.ReleaseBlob(rec.Blob.Digest)
			st.dropBlobIfUnused(rec.Blob.Digest)
		}, nil
	}
	return st.AdoptLayer(tmp, parent, rec)
}
