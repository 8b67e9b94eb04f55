package buildkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/containerd/v2/core/diff/apply"
	ctdmetadata "github.com/containerd/containerd/v2/core/metadata"
	ctdsnapshot "github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/plugins/diff/walking"
	"github.com/containerd/containerd/v2/plugins/snapshots/overlay"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/cache/metadata"
	"github.com/moby/buildkit/executor"
	"github.com/moby/buildkit/executor/oci"
	"github.com/moby/buildkit/executor/resources"
	"github.com/moby/buildkit/executor/runcexecutor"
	containerdsnapshot "github.com/moby/buildkit/snapshot/containerd"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/db/boltutil"
	"github.com/moby/buildkit/util/leaseutil"
	bknetwork "github.com/moby/buildkit/util/network"
	"github.com/moby/buildkit/util/network/netproviders"
	"github.com/moby/buildkit/worker/base"
	wlabel "github.com/moby/buildkit/worker/label"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

// Layout of <root> (BuildKit's state directory):
//
//	cache.db, history.db  solver cache keys, build history
//	worker/               the worker: containerdmeta.db (containerd's
//	                      metadata DB: BuildKit's records of blobs in
//	                      Berth's blob store, leases, snapshots),
//	                      metadata_v2.db (cache records), snapshots/
//	                      (overlay snapshots of build steps), executor/
//	runc-overlayfs/       the first layout, with a content store of its
//	                      own: removed at start (see migrate)
const (
	workerDir   = "worker"
	ctdMetaFile = "containerdmeta.db"
	// ctdNamespace is the containerd namespace BuildKit's records live in.
	ctdNamespace = "buildkit"
)

// boltViewer reads a bbolt DB (BuildKit's handle, which may swap the file
// when it compacts).
type boltViewer interface {
	View(func(*bolt.Tx) error) error
}

// newWorkerOpt assembles BuildKit's OCI worker as buildkitd's runc worker
// does, except that the content store below containerd's metadata DB is
// Berth's blob store (see blobStore).
func newWorkerOpt(cfg Config, bs *blobStore) (base.WorkerOpt, boltViewer, error) {
	var opt base.WorkerOpt
	root := filepath.Join(cfg.Root, workerDir)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return opt, nil, err
	}
	ex, err := newExecutor(cfg, root)
	if err != nil {
		return opt, nil, err
	}
	np, proxy, netMode, rm, exe := ex.np, ex.proxy, ex.netMode, ex.rm, ex.exe
	sn, err := overlay.NewSnapshotter(filepath.Join(root, "snapshots"), overlay.AsynchronousRemove)
	if err != nil {
		return opt, nil, err
	}
	db, err := boltutil.Open(filepath.Join(root, ctdMetaFile), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return opt, nil, err
	}
	fail := func(err error) (base.WorkerOpt, boltViewer, error) {
		db.Close()
		return opt, nil, err
	}
	mdb := ctdmetadata.NewDB(db, bs, map[string]ctdsnapshot.Snapshotter{"overlayfs": sn})
	if err := mdb.Init(context.TODO()); err != nil {
		return fail(err)
	}
	cs := containerdsnapshot.NewContentStore(mdb.ContentStore(), ctdNamespace)
	id, err := base.ID(root)
	if err != nil {
		return fail(err)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	md, err := metadata.NewStore(filepath.Join(root, "metadata_v2.db"))
	if err != nil {
		return fail(err)
	}
	// No snapshotter label: buildx reads it as "the daemon has the
	// containerd image store" and then names images by manifest digest;
	// Berth names them by config digest, as dockerd's classic store does.
	opt = base.WorkerOpt{
		ID:   id,
		Root: root,
		Labels: map[string]string{
			wlabel.Executor:       "oci",
			wlabel.Hostname:       host,
			wlabel.Network:        netMode,
			wlabel.OCIProcessMode: oci.ProcessSandbox.String(),
			wlabel.SELinuxEnabled: strconv.FormatBool(false),
		},
		MetadataStore:    md,
		ContentMetadata:  db,
		NetworkProviders: np,
		ProxyProvider:    proxy,
		Executor:         exe,
		Snapshotter:      containerdsnapshot.NewSnapshotter("overlayfs", mdb.Snapshotter("overlayfs"), ctdNamespace, nil),
		ContentStore:     cs,
		Applier:          linkApplier{apply.NewFileSystemApplier(cs), cfg.Images},
		Differ:           walking.NewWalkingDiff(cs),
		Platforms:        []ocispecs.Platform{platforms.Normalize(platforms.DefaultSpec())},
		LeaseManager:     leaseutil.WithNamespace(ctdmetadata.NewLeaseManager(mdb), ctdNamespace),
		GarbageCollect:   mdb.GarbageCollect,
		MountPoolRoot:    filepath.Join(root, "cachemounts"),
		ResourceMonitor:  rm,
	}
	return opt, db, nil
}

// stepRunner is what runs RUN steps: the runtime through BuildKit's runc
// executor, its network providers and resource monitor.
type stepRunner struct {
	np      map[pb.NetMode]bknetwork.Provider
	proxy   bknetwork.ProxyProvider
	netMode string
	rm      *resources.Monitor
	exe     executor.Executor
}

func newExecutor(cfg Config, root string) (*stepRunner, error) {
	nopt := netproviders.Opt{Mode: "host"}
	nopt.CNI.Root = filepath.Join(cfg.Root, "net")
	np, proxy, netMode, err := netproviders.Providers(nopt)
	if err != nil {
		return nil, err
	}
	rm, err := resources.NewMonitor()
	if err != nil {
		return nil, err
	}
	var runtimes []string
	if cfg.Runtime != "" {
		runtimes = []string{cfg.Runtime}
	}
	exe, err := runcexecutor.New(runcexecutor.Opt{
		Root:              filepath.Join(root, "executor"),
		CommandCandidates: runtimes,
		ProcessMode:       oci.ProcessSandbox,
		ResourceMonitor:   rm,
		ProxyProvider:     proxy,
	}, np)
	if err != nil {
		return nil, err
	}
	return &stepRunner{np: np, proxy: proxy, netMode: netMode, rm: rm, exe: exe}, nil
}

// migrate removes the first layout's state (its own content store and
// overlay snapshots, and the solver cache and history that point into
// them): a build cache, not user data, and keeping it would store every
// blob twice. It runs when berthd starts.
func migrate(root string) error {
	old := filepath.Join(root, "runc-overlayfs")
	if _, err := os.Stat(old); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, p := range []string{"cache.db", "history.db", "runc-overlayfs"} {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			return fmt.Errorf("removing the old build cache %s: %w", p, err)
		}
	}
	return nil
}

// keptBlobs adds the digests of the blobs the containerd metadata DB db
// has records of (any namespace) or expects from an ingest.
func keptBlobs(tx *bolt.Tx, into map[string]bool) error {
	v1 := tx.Bucket([]byte("v1"))
	if v1 == nil {
		return nil
	}
	return v1.ForEachBucket(func(ns []byte) error {
		c := v1.Bucket(ns).Bucket([]byte("content"))
		if c == nil {
			return nil
		}
		if b := c.Bucket([]byte("blob")); b != nil {
			if err := b.ForEachBucket(func(k []byte) error {
				into[string(k)] = true
				return nil
			}); err != nil {
				return err
			}
		}
		if b := c.Bucket([]byte("ingests")); b != nil {
			return b.ForEachBucket(func(k []byte) error {
				if e := b.Bucket(k).Get([]byte("expected")); len(e) > 0 {
					into[string(e)] = true
				}
				return nil
			})
		}
		return nil
	})
}
