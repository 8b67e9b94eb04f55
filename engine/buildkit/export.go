package buildkit

import (
	"context"

	"github.com/moby/buildkit/cache"
	cacheconfig "github.com/moby/buildkit/cache/config"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/session"
	"golang.org/x/sync/errgroup"
)

// unlazyInstance fetches a result's lazy layers before the image exporter
// stores the image: a build whose steps all came from an imported cache
// (--cache-from type=registry, inline) has layers that exist only in the
// registry until something reads them, and BuildKit's own exporter fetches
// them only after it has created the image, too late for Berth's store,
// which takes the image's blobs when it is created.
type unlazyInstance struct{ exporter.ExporterInstance }

func (i unlazyInstance) Export(ctx context.Context, src *exporter.Source, bi exporter.ExportBuildInfo) (map[string]string, exporter.FinalizeFunc, exporter.DescriptorReference, error) {
	if err := unlazy(ctx, src, cacheconfig.RefConfig{Compression: i.Config().Compression()}, bi.SessionID); err != nil {
		return nil, nil, nil, err
	}
	return i.ExporterInstance.Export(ctx, src, bi)
}

func unlazy(ctx context.Context, src *exporter.Source, cfg cacheconfig.RefConfig, sessionID string) error {
	var refs []cache.ImmutableRef
	if src.Ref != nil {
		refs = append(refs, src.Ref)
	}
	for _, r := range src.Refs {
		if r != nil {
			refs = append(refs, r)
		}
	}
	eg, ctx := errgroup.WithContext(ctx)
	for _, ref := range refs {
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
