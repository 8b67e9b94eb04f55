package buildkit

import (
	"context"

	"github.com/moby/buildkit/cache"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/util/leaseutil"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FromRemote makes refs of a result an imported cache (registry, inline,
// local) describes, as BuildKit's worker does, after recording in BuildKit's
// metadata the layer blobs Berth's store already has.
//
// BuildKit counts a blob as present only when its namespace has a record of
// it; after `builder prune` it has none of the layers Berth's images keep
// (their bytes stay: an image uses them), so every imported layer became a
// lazy ref, fetched again from the registry when the image was exported,
// and that fetch re-marked the loaded step as run (its progress is the
// step's): the build was right but not shown CACHED, and it downloaded what
// was on disk. Recorded, the blobs are used in place.
func (w *mobyWorker) FromRemote(ctx context.Context, remote *solver.Remote) (cache.ImmutableRef, error) {
	// A lease keeps the records until the refs' own leases hold the blobs.
	ctx, done, err := leaseutil.WithLease(ctx, w.LeaseManager(), leaseutil.MakeTemporary)
	if err != nil {
		return nil, err
	}
	defer done(context.WithoutCancel(ctx))
	for _, d := range remote.Descriptors {
		w.adoptBlob(ctx, d)
	}
	return w.Worker.FromRemote(ctx, remote)
}

// adoptBlob records blob d in BuildKit's metadata when Berth's store has it
// (same digest and size) and BuildKit has no record of it. Failing, the
// layer stays lazy, as it would be without Berth's store.
func (w *mobyWorker) adoptBlob(ctx context.Context, d ocispec.Descriptor) {
	if d.Digest.Validate() != nil {
		return
	}
	cs := w.ContentStore()
	if _, err := cs.Info(ctx, d.Digest); err == nil {
		return
	}
	if i, err := w.blobs.Info(ctx, d.Digest); err != nil || i.Size != d.Size {
		return
	}
	if err := registerBlob(ctx, cs, d); err != nil {
		w.images.log.Debug("BuildKit: imported layer stays lazy", "digest", d.Digest, "err", err)
	}
}
