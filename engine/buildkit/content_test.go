package buildkit

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ctdcontent "github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/testsuite"
	"github.com/containerd/containerd/v2/core/metadata"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	cerrdefs "github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/content"
)

// usedBlobs stands in for Berth's image store: the blobs its layers use.
type usedBlobs struct {
	blobs content.Store
	mu    sync.Mutex
	used  map[digest.Digest]bool
}

func (u *usedBlobs) DeleteBlobUnlessUsed(ctx context.Context, d digest.Digest) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used[d] {
		return false, nil
	}
	return true, u.blobs.Delete(ctx, d)
}

type sharedStore struct {
	local *content.Local
	guard *usedBlobs
	bs    *blobStore
	db    *bolt.DB
	mdb   *metadata.DB
}

func openShared(t testing.TB, root string) *sharedStore {
	local, err := content.NewLocal(filepath.Join(root, "blobs"), filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	guard := &usedBlobs{blobs: local, used: map[digest.Digest]bool{}}
	bs := newBlobStore(local, guard)
	db, err := bolt.Open(filepath.Join(root, "meta.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	mdb := metadata.NewDB(db, bs, nil)
	if err := mdb.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &sharedStore{local: local, guard: guard, bs: bs, db: db, mdb: mdb}
}

// TestContentSuite runs containerd's content store suite against the store
// BuildKit's worker gets: containerd's metadata DB over Berth's blobs.
func TestContentSuite(t *testing.T) {
	testsuite.ContentSuite(t, "berth", func(ctx context.Context, root string) (context.Context, ctdcontent.Store, func() error, error) {
		s := openShared(t, root)
		return namespaces.WithNamespace(ctx, "buildkit"), s.mdb.ContentStore(), s.db.Close, nil
	})
}

func putBlob(t *testing.T, ctx context.Context, cs ctdcontent.Ingester, data string, labels map[string]string) digest.Digest {
	t.Helper()
	d := digest.FromString(data)
	var opts []ctdcontent.Opt
	if labels != nil {
		opts = append(opts, ctdcontent.WithLabels(labels))
	}
	if err := ctdcontent.WriteBlob(ctx, cs, "ref-"+data, strings.NewReader(data), ocispec.Descriptor{Digest: d, Size: int64(len(data))}, opts...); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSharedGC: containerd's GC over the shared store deletes the blobs
// BuildKit no longer references unless a Berth layer uses them, never
// touches Berth's blobs, and keeps what a GC root references.
func TestSharedGC(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "buildkit")
	s := openShared(t, t.TempDir())
	defer s.db.Close()
	cs := s.mdb.ContentStore()

	// A blob of a Berth image, never seen by BuildKit.
	berthOnly, _, err := content.WriteBlob(ctx, s.local, strings.NewReader("berth layer"), "")
	if err != nil {
		t.Fatal(err)
	}
	s.guard.used[berthOnly] = true
	// A Berth blob BuildKit registered by digest (no bytes written).
	shared, _, err := content.WriteBlob(ctx, s.local, strings.NewReader("base layer"), "")
	if err != nil {
		t.Fatal(err)
	}
	s.guard.used[shared] = true
	w, err := cs.Writer(ctx, ctdcontent.WithRef("expose"), ctdcontent.WithDescriptor(ocispec.Descriptor{Digest: shared, Size: 10}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, 10, shared); err != nil {
		t.Fatalf("registering a Berth blob by digest: %v", err)
	}
	if n := len(s.bs.committed); n != 0 {
		t.Fatalf("registering by digest went through the backend writer (%d commits)", n)
	}
	orphan := putBlob(t, ctx, cs, "orphan layer", nil)
	kept := putBlob(t, ctx, cs, "kept layer", nil)
	putBlob(t, ctx, cs, "root", map[string]string{gcRoot: "true", "containerd.io/gc.ref.content.l.0": kept.String()})

	keep := map[string]bool{}
	s.bs.keep(keep)
	for _, d := range []digest.Digest{orphan, kept} {
		if !keep[d.String()] {
			t.Errorf("blob %s committed by BuildKit not reported as kept", d)
		}
	}

	if _, err := s.mdb.GarbageCollect(ctx); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[digest.Digest]bool{berthOnly: true, shared: true, orphan: false, kept: true} {
		_, err := s.local.Info(ctx, d)
		if got := err == nil; got != want {
			t.Errorf("blob %s on disk after GC: %v, want %v (%v)", d, got, want, err)
		}
	}
	if _, err := cs.Info(ctx, shared); !cerrdefs.IsNotFound(err) {
		t.Errorf("BuildKit still has a record of the unreferenced shared blob: %v", err)
	}
	keep = map[string]bool{}
	s.bs.keep(keep)
	if keep[orphan.String()] {
		t.Error("collected blob still reported as kept")
	}
}
