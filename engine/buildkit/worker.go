package buildkit

import (
	"context"
	"sync"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/source"
	"github.com/moby/buildkit/source/containerimage"
	"github.com/moby/buildkit/util/resolver"
	"github.com/moby/buildkit/worker/base"
)

// exporterMoby is the exporter name buildx's docker driver asks for when
// the image is to land in the daemon's store (no --load needed).
const exporterMoby = "moby"

// danglingPrefix names an untagged build result for the image store
// adapter, which stores it without a tag (as `docker build` without -t).
const danglingPrefix = "berth-dangling"

// mobyWorker is BuildKit's base worker with Berth's two differences: image
// references resolve from Berth's store before registries, and the "moby"
// exporter stores into Berth's store.
type mobyWorker struct {
	*base.Worker
	sm *session.Manager

	blobs  *blobStore
	ctdDB  boltViewer // containerd's metadata DB (BuildKit's blob records)
	images *imageStore

	// prunes guards pruned: see Prune.
	prunes sync.RWMutex
	closed bool
}

// Prune prunes the build cache while the worker's databases are open, and
// does nothing once closePrunes ran: the controller's GC calls it from a
// timer of its own (a second after start and after each build) that
// nothing can stop, and it would otherwise log "database not open" after
// berthd closed BuildKit.
func (w *mobyWorker) Prune(ctx context.Context, ch chan client.UsageInfo, opt ...client.PruneInfo) error {
	w.prunes.RLock()
	defer w.prunes.RUnlock()
	if w.closed {
		return nil
	}
	return w.Worker.Prune(ctx, ch, opt...)
}

// closePrunes waits for the prunes under way and makes later ones do
// nothing; call it before the databases close.
func (w *mobyWorker) closePrunes() {
	w.prunes.Lock()
	w.closed = true
	w.prunes.Unlock()
}

func newMobyWorker(w *base.Worker, sm *session.Manager) *mobyWorker {
	w.SourceManager.Register(preferLocalSource{Source: w.ImageSource, content: w.ContentStore()})
	return &mobyWorker{Worker: w, sm: sm}
}

// ResolveSourceMetadata resolves FROM images (the Dockerfile frontend asks
// for their config first) with Berth's store first.
func (w *mobyWorker) ResolveSourceMetadata(ctx context.Context, op *pb.SourceOp, opt sourceresolver.Opt, sm *session.Manager, jobCtx solver.JobContext) (*sourceresolver.MetaResponse, error) {
	if opt.ImageOpt != nil && isDefaultMode(opt.ImageOpt.ResolveMode) {
		o := *opt.ImageOpt
		o.ResolveMode = pb.AttrImageResolveModePreferLocal
		opt.ImageOpt = &o
	}
	return w.Worker.ResolveSourceMetadata(ctx, op, opt, sm, jobCtx)
}

func isDefaultMode(m string) bool {
	return m == "" || m == pb.AttrImageResolveModeDefault
}

// Exporter maps "moby" to the image exporter over Berth's store.
func (w *mobyWorker) Exporter(name string, sm *session.Manager) (exporter.Exporter, error) {
	if name != exporterMoby {
		return w.Worker.Exporter(name, sm)
	}
	e, err := w.Worker.Exporter(client.ExporterImage, sm)
	if err != nil {
		return nil, err
	}
	return mobyExporter{e}, nil
}

type mobyExporter struct{ exporter.Exporter }

// Resolve names an untagged result so that it still lands in Berth's store.
func (e mobyExporter) Resolve(ctx context.Context, id int, attrs map[string]string) (exporter.ExporterInstance, error) {
	a := make(map[string]string, len(attrs)+1)
	for k, v := range attrs {
		a[k] = v
	}
	if a[string(exptypes.OptKeyDanglingPrefix)] == "" {
		a[string(exptypes.OptKeyDanglingPrefix)] = danglingPrefix
		a[string(exptypes.OptKeyDanglingEmptyOnly)] = "true"
	}
	// dockerd's classic store has no notion of it; an image in Berth's
	// store is named by its config digest whatever this says.
	delete(a, "prefer-image-digest")
	i, err := e.Exporter.Resolve(ctx, id, a)
	if err != nil {
		return nil, err
	}
	return unlazyInstance{i}, nil
}

// preferLocalSource is the registry image source with "default" resolve
// mode meaning "Berth's store first, then the registry", and images of
// Berth's store keyed by their layers (see sourcekey.go).
type preferLocalSource struct {
	*containerimage.Source
	content content.Store
}

func (s preferLocalSource) Identifier(scheme, ref string, attrs map[string]string, platform *pb.Platform) (source.Identifier, error) {
	id, err := s.Source.Identifier(scheme, ref, attrs, platform)
	if err != nil {
		return nil, err
	}
	if img, ok := id.(*containerimage.ImageIdentifier); ok && img.ResolveMode == resolver.ResolveModeDefault {
		img.ResolveMode = resolver.ResolveModePreferLocal
	}
	return id, nil
}
