package buildkit

import (
	"context"

	"github.com/moby/buildkit/cache"
	cacheconfig "github.com/moby/buildkit/cache/config"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/session"
	"golang.org/x/sync/errgroup"
)

// unlazyInstance prepares a result for Berth's store before the image
// exporter stores the image. It fetches the result's lazy layers: a build
// whose steps all came from an imported cache (--cache-from type=registry,
// inline) has layers that exist only in the registry until something reads
// them, and BuildKit's own exporter fetches them only after it has created
// the image, too late for Berth's store, which takes the image's blobs when
// it is created. And it tells the store which layers are unpacked in
// BuildKit's snapshots already (see snapshotDirs).
type unlazyInstance struct{ exporter.ExporterInstance }

func (i unlazyInstance) Export(ctx context.Context, src *exporter.Source, bi exporter.ExportBuildInfo) (map[string]string, exporter.FinalizeFunc, exporter.DescriptorReference, error) {
	if err := unlazy(ctx, src, cacheconfig.RefConfig{Compression: i.Config().Compression()}, bi.SessionID); err != nil {
		return nil, nil, nil, err
	}
	dirs := newSnapshotDirs(ctx, src, bi.SessionID)
	defer dirs.release()
	return i.ExporterInstance.Export(withUnpacked(ctx, dirs.dir), src, bi)
}

// sourceRefs lists the results of src (one per platform).
func sourceRefs(src *exporter.Source) []cache.ImmutableRef {
	var refs []cache.ImmutableRef
	if src.Ref != nil {
		refs = append(refs, src.Ref)
	}
	for _, r := range src.Refs {
		if r != nil {
			refs = append(refs, r)
		}
	}
	return refs
}

func unlazy(ctx context.Context, src *exporter.Source, cfg cacheconfig.RefConfig, sessionID string) error {
	eg, ctx := errgroup.WithContext(ctx)
	for _, ref := range sourceRefs(src) {
		eg.Go(func() error {
			remotes, err := ref.GetRemotes(ctx, true, cfg, false, session.NewGroup(sessionID))
			if err != nil || len(remotes) == 0 {
				return err
			}
			if u, ok := remotes[0].Provider.(cache.Unlazier); ok {
				return u.Unlazy(ctx)
			}
			return nil
		})
	}
	return eg.Wait()
}
