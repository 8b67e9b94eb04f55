package buildkit

import (
	"context"
	"path/filepath"

	"github.com/moby/buildkit/cache/remotecache"
	inlineremotecache "github.com/moby/buildkit/cache/remotecache/inline"
	localremotecache "github.com/moby/buildkit/cache/remotecache/local"
	registryremotecache "github.com/moby/buildkit/cache/remotecache/registry"
	"github.com/moby/buildkit/control"
	"github.com/moby/buildkit/frontend"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/frontend/gateway"
	"github.com/moby/buildkit/frontend/gateway/forwarder"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver"
	"github.com/moby/buildkit/solver/bboltcachestorage"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/network"
	"github.com/moby/buildkit/util/resolver"
	"github.com/moby/buildkit/worker"
	"github.com/moby/buildkit/worker/base"
	wlabel "github.com/moby/buildkit/worker/label"
	bolt "go.etcd.io/bbolt"
)

// newController assembles BuildKit the way buildkitd does for its OCI
// worker, with Berth's choices:
//   - RUN steps execute with Berth's OCI runtime binary;
//   - the default network of a RUN step is a namespace of its own on
//     Berth's default bridge (cfg.Network; without it, loopback only);
//     `--network=none` is loopback only; `--network=host` needs the
//     network.host entitlement from the client and from the daemon's
//     configuration;
//   - images resolve from Berth's store first, then registries, and the
//     "moby" exporter (what buildx's docker driver asks for) stores the
//     result in Berth's store.
func newController(ctx context.Context, cfg Config) (*control.Controller, *session.Manager, *mobyWorker, error) {
	sm, err := session.NewManager()
	if err != nil {
		return nil, nil, nil, err
	}
	bs := newBlobStore(cfg.Blobs, cfg.Images)
	opt, ctdDB, err := newWorkerOpt(cfg, bs)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := configureWorker(&opt, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	bw, err := base.NewWorker(ctx, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	store.content = bw.ContentStore()
	w := newMobyWorker(bw, sm)
	w.blobs, w.ctdDB, w.images = bs, ctdDB, store

	wc := &worker.Controller{}
	if err := wc.Add(w); err != nil {
		return nil, nil, nil, err
	}
	frontends, err := newFrontends(wc)
	if err != nil {
		return nil, nil, nil, err
	}
	cacheStorage, historyDB, err := openControllerDBs(cfg.Root)
	if err != nil {
		return nil, nil, nil, err
	}
	var ents []string
	if cfg.AllowNetworkHost {
		ents = append(ents, string(entitlements.EntitlementNetworkHost))
	}
	ctl, err := control.NewController(control.Opt{
		Entitlements:     ents,
		SessionManager:   sm,
		WorkerController: wc,
		Frontends:        frontends,
		ResolveCacheExporterFuncs: map[string]remotecache.ResolveCacheExporterFunc{
			"registry": registryremotecache.ResolveCacheExporterFunc(sm, opt.RegistryHosts),
			"local":    localremotecache.ResolveCacheExporterFunc(sm),
			"inline":   inlineremotecache.ResolveCacheExporterFunc(),
		},
		ResolveCacheImporterFuncs: map[string]remotecache.ResolveCacheImporterFunc{
			"registry": registryremotecache.ResolveCacheImporterFunc(sm, bw.ContentStore(), opt.RegistryHosts),
			"local":    localremotecache.ResolveCacheImporterFunc(sm),
		},
		CacheManager:   solver.NewCacheManager(ctx, "local", cacheStorage, worker.NewCacheResultStorage(wc)),
		HistoryDB:      historyDB,
		CacheStore:     cacheStorage,
		LeaseManager:   bw.LeaseManager(),
		ContentStore:   bw.ContentStore(),
		GarbageCollect: bw.GarbageCollect,
		GracefulStop:   ctx.Done(),
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return ctl, sm, w, nil
}

// configureWorker completes the worker's options: GC policy, the network
// RUN steps get, labels buildx reads, registries, and the image store
// exports land in.
func configureWorker(opt *base.WorkerOpt, cfg Config) (*imageStore, error) {
	var err error
	if opt.GCPolicy, err = gcPolicy(cfg.GC, cfg.Root); err != nil {
		return nil, err
	}
	opt.NetworkProviders[pb.NetMode_UNSET] = network.NewNoneProvider()
	opt.Labels[wlabel.Network] = "none"
	if cfg.Network != nil {
		opt.NetworkProviders[pb.NetMode_UNSET] = newBridgeProvider(cfg.Network)
		opt.Labels[wlabel.Network] = "bridge"
	}
	// buildx reads this label as "the daemon has the containerd image
	// store" and then names images by manifest digest; Berth names them
	// by config digest, as dockerd's classic store does.
	delete(opt.Labels, wlabel.Snapshotter)
	opt.RegistryHosts = resolver.NewRegistryConfig(nil)
	store := &imageStore{berth: cfg.Images, log: cfg.Log}
	opt.ImageStore = store
	return store, nil
}

// newFrontends are the Dockerfile frontend built in and, for a # syntax=
// line, the gateway (which serves the built-in one offline).
func newFrontends(wc *worker.Controller) (map[string]frontend.Frontend, error) {
	builtin := dockerfileFrontend{forwarder.NewGatewayForwarder(wc.Infos(), dockerfile.Build)}
	gw, err := gateway.NewGatewayFrontend(wc.Infos(), nil)
	if err != nil {
		return nil, err
	}
	return map[string]frontend.Frontend{
		"dockerfile.v0": builtin,
		"gateway.v0":    syntaxFrontend{builtin: builtin, gateway: gw},
	}, nil
}

// openControllerDBs opens the build cache's and the build history's
// databases below root.
func openControllerDBs(root string) (*bboltcachestorage.Store, *boltutil.DB, error) {
	cacheStorage, err := bboltcachestorage.NewStore(filepath.Join(root, "cache.db"))
	if err != nil {
		return nil, nil, err
	}
	historyDB, err := boltutil.SafeOpen(filepath.Join(root, "history.db"), 0o600, &bolt.Options{
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		cacheStorage.Close()
		return nil, nil, err
	}
	return cacheStorage, historyDB, nil
}
