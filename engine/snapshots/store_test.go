package snapshots

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/imagetest"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	db, dir := imagetest.DB(t)
	st, err := NewStore(StoreOptions{Root: filepath.Join(dir, "image"), DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func layerTar(t *testing.T, name, body string) []byte {
	return imagetest.Tar(t, imagetest.Entry{Name: name, Body: body})
}

// register records the held layers of chain as an owner (the image
// service) does: under the store's lock, in one transaction.
func (st *Store) register(t *testing.T, chain ...string) {
	t.Helper()
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.db.Bolt().Update(func(tx *bolt.Tx) error { return st.RegisterTx(tx, chain) }); err != nil {
		t.Fatal(err)
	}
}

func (st *Store) registered(chainID string) bool {
	ok := false
	_ = st.db.Bolt().View(func(tx *bolt.Tx) error {
		ok = HasLayer(tx, chainID)
		return nil
	})
	return ok
}

func (st *Store) blobCount(t *testing.T) int {
	t.Helper()
	_, n := imagetest.BlobUsage(t, st.content)
	return n
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// A layer added and released without an image naming it goes away; GC
// leaves it alone while it is held.
func TestAddLayerHeldUntilRelease(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	l, release, err := st.AddLayer(ctx, "", bytes.NewReader(layerTar(t, "a", "x")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.ChainID != l.DiffID || l.Parent != "" || l.Blob == nil || l.Size != 1 {
		t.Fatalf("base layer %+v", l)
	}
	dir := st.Layout().LayerDir(l.ChainID)
	st.mu.Lock()
	res, err := st.GCLocked(ctx, map[string]bool{})
	st.mu.Unlock()
	if err != nil || len(res.Layers)+len(res.Blobs) != 0 {
		t.Fatalf("GC took a held layer: %+v %v", res, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "x" {
		t.Fatalf("layer content %q %v", b, err)
	}
	if got, err := st.Layers([]string{l.ChainID}); err != nil || got[0].DiffID != l.DiffID {
		t.Fatalf("Layers of a held layer: %v %v", got, err)
	}
	release()
	if exists(dir) || st.registered(l.ChainID) {
		t.Fatal("released unregistered layer left in place")
	}
	if _, err := st.Layers([]string{l.ChainID}); err == nil {
		t.Fatal("Layers finds a released layer")
	}
	st.mu.Lock()
	res, err = st.GCLocked(ctx, map[string]bool{})
	st.mu.Unlock()
	if err != nil || len(res.Blobs) != 1 || st.blobCount(t) != 0 {
		t.Fatalf("GC after release: %+v %v, %d blobs left", res, err, st.blobCount(t))
	}
}

// A layer on a chain gets the OCI chain ID and its parent; registered, it
// outlives the release, and unregistering what the owner no longer uses
// removes directories and blobs.
func TestAddLayerOnChainRegisterUnregister(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	base, relBase, err := st.AddLayer(ctx, "", bytes.NewReader(layerTar(t, "a", "x")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	top, relTop, err := st.AddLayer(ctx, base.ChainID, bytes.NewReader(layerTar(t, "b", "yy")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := ChainIDs([]string{base.DiffID, top.DiffID})[1]; top.ChainID != want || top.Parent != base.ChainID {
		t.Fatalf("top layer %+v, want chain %s", top, want)
	}
	chain := []string{base.ChainID, top.ChainID}
	st.register(t, chain...)
	relTop()
	relBase()
	for _, c := range chain {
		if !st.registered(c) || !exists(st.Layout().LayerDir(c)) {
			t.Fatalf("registered layer %s gone after release", c)
		}
	}
	// A container's root filesystem on the base keeps it.
	if err := st.db.Bolt().Update(func(tx *bolt.Tx) error {
		return PutRootfs(tx, "c1", Rootfs{ChainIDs: chain[:1]})
	}); err != nil {
		t.Fatal(err)
	}
	var removed []Layer
	st.mu.Lock()
	err = st.db.Bolt().Update(func(tx *bolt.Tx) (err error) {
		removed, err = st.UnregisterUnusedTx(tx, chain, map[string]bool{})
		return err
	})
	if err == nil {
		st.RemoveLocked(removed)
	}
	st.mu.Unlock()
	if err != nil || len(removed) != 1 || removed[0].ChainID != top.ChainID {
		t.Fatalf("unregistered %+v %v, want the top layer only", removed, err)
	}
	if exists(st.Layout().LayerDir(top.ChainID)) || !exists(st.Layout().LayerDir(base.ChainID)) {
		t.Fatal("directories do not follow the records")
	}
	if n := st.blobCount(t); n != 1 {
		t.Fatalf("%d blobs, want the base layer's", n)
	}
}

// Adding a layer that exists holds the existing one and answers with its
// record; the second copy's blob (here another compression) is dropped at
// release.
func TestAddExistingLayerDropsSecondBlob(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	raw := layerTar(t, "a", "x")
	first, rel1, err := st.AddLayer(ctx, "", bytes.NewReader(raw), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.register(t, first.ChainID)
	rel1()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	again, rel2, err := st.AddLayer(ctx, "", &gz, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.ChainID != first.ChainID || again.Blob.Digest != first.Blob.Digest {
		t.Fatalf("existing layer answered as %+v, want %+v", again, first)
	}
	if st.blobCount(t) != 2 {
		t.Fatal("the second blob is not held until release")
	}
	rel2()
	if n := st.blobCount(t); n != 1 || !st.registered(first.ChainID) || !exists(st.Layout().LayerDir(first.ChainID)) {
		t.Fatalf("after release: %d blobs, layer registered %v", n, st.registered(first.ChainID))
	}
}

// AdoptLayer puts a directory ExtractLayer filled in place on a chain.
func TestAdoptLayer(t *testing.T) {
	st := newTestStore(t)
	dir, err := os.MkdirTemp(st.TempDir(), "x-")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.ExtractLayer(dir, bytes.NewReader(layerTar(t, "f", "z")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parent := "sha256:" + fmt.Sprintf("%064x", 1)
	l, release, err := st.AdoptLayer(dir, parent, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if l.ChainID != ChildChainID(parent, rec.DiffID) || l.Parent != parent || exists(dir) {
		t.Fatalf("adopted %+v (dir left: %v)", l, exists(dir))
	}
	if b, _ := os.ReadFile(filepath.Join(st.Layout().LayerDir(l.ChainID), "f")); string(b) != "z" {
		t.Fatalf("adopted content %q", b)
	}
}

// A writable layer's upper directory becomes a layer on the chain; an
// unchanged one adds none.
func TestDiffLayer(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	base, relBase, err := st.AddLayer(ctx, "", bytes.NewReader(layerTar(t, "a", "x")), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer relBase()
	upper := t.TempDir()
	empty, relEmpty, err := st.DiffLayer(ctx, upper, base.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	relEmpty()
	if empty.DiffID != EmptyTarDiffID || empty.ChainID != "" {
		t.Fatalf("unchanged upper: %+v", empty)
	}
	if err := os.WriteFile(filepath.Join(upper, "new"), []byte("n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, release, err := st.DiffLayer(ctx, upper, base.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if l.ChainID != ChildChainID(base.ChainID, l.DiffID) || l.Parent != base.ChainID || l.Size != 1 {
		t.Fatalf("diff layer %+v", l)
	}
	if b, _ := os.ReadFile(filepath.Join(st.Layout().LayerDir(l.ChainID), "new")); string(b) != "n" {
		t.Fatalf("diff content %q", b)
	}
}

// EnsureLayer extracts a chain ID once however many ask at the same time,
// and a failed extraction leaves nothing.
func TestEnsureLayerOnce(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	raw := layerTar(t, "a", "x")
	var (
		mu       sync.Mutex
		extracts int
		wg       sync.WaitGroup
	)
	chain := ""
	{
		l, rel, err := st.AddLayer(ctx, "", bytes.NewReader(raw), archive.Options{})
		if err != nil {
			t.Fatal(err)
		}
		chain = l.ChainID
		rel()
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.EnsureLayer(ctx, chain, func(dir string) (Layer, error) {
				mu.Lock()
				extracts++
				mu.Unlock()
				return st.ExtractLayer(dir, bytes.NewReader(raw), archive.Options{})
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if extracts != 1 {
		t.Fatalf("%d extractions, want 1", extracts)
	}
	st.ReleaseLayers([]string{chain, chain, chain, chain})
	if exists(st.Layout().LayerDir(chain)) {
		t.Fatal("layer left after the last release")
	}
	boom := errors.New("boom")
	if _, err := st.EnsureLayer(ctx, chain, func(string) (Layer, error) { return Layer{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed extraction: %v", err)
	}
	if ents, _ := os.ReadDir(st.TempDir()); len(ents) != 0 || exists(st.Layout().LayerDir(chain)) {
		t.Fatalf("failed extraction left %v", ents)
	}
}

// Add, register (or give up, as a failed pull does), release, rmi-style
// unregister and GC race from several goroutines over a few shared
// layers: at every step, under the lock, every layer an image names is
// registered and on disk, and every held layer is on disk. Two adds of the
// same content at once must not replace each other's directory or hold.
func TestConcurrentAddRegisterReleaseGC(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	tars := [][]byte{layerTar(t, "a", "1"), layerTar(t, "a", "2"), layerTar(t, "a", "3")}
	// images is the owner's record of which image uses which chain ID,
	// guarded by the store's lock as the image service's is.
	images := map[string]string{}
	owned := func(skip string) map[string]bool {
		m := map[string]bool{}
		for id, c := range images {
			if id != skip {
				m[c] = true
			}
		}
		return m
	}
	check := func(what string, held []string) {
		for id, c := range images {
			if !st.registered(c) || !exists(st.Layout().LayerDir(c)) {
				t.Errorf("%s: layer %s of image %s missing", what, c, id)
			}
		}
		for _, c := range held {
			if !exists(st.Layout().LayerDir(c)) {
				t.Errorf("%s: held layer %s has no directory", what, c)
			}
		}
	}
	const workers, rounds = 4, 12
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds && !t.Failed(); r++ {
				id := fmt.Sprintf("img-%d-%d", w, r)
				l, release, err := st.AddLayer(ctx, "", bytes.NewReader(tars[(w+r)%len(tars)]), archive.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				st.mu.Lock()
				check("after add", []string{l.ChainID})
				if r%3 == 2 {
					// A pull that failed: never registered.
					st.mu.Unlock()
					release()
					continue
				}
				err = st.db.Bolt().Update(func(tx *bolt.Tx) error { return st.RegisterTx(tx, []string{l.ChainID}) })
				if err == nil {
					images[id] = l.ChainID
				}
				st.mu.Unlock()
				release()
				if err != nil {
					t.Error(err)
					return
				}
				// rmi of the image just made, every other round.
				if r%2 == 1 {
					continue
				}
				st.mu.Lock()
				var removed []Layer
				err = st.db.Bolt().Update(func(tx *bolt.Tx) (err error) {
					removed, err = st.UnregisterUnusedTx(tx, []string{images[id]}, owned(id))
					return err
				})
				if err == nil {
					delete(images, id)
					st.RemoveLocked(removed)
				}
				check("after rmi", nil)
				st.mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// GC runs over and over until the workers are done.
	done := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-done:
				return
			default:
			}
			st.mu.Lock()
			if _, err := st.GCLocked(ctx, owned("")); err != nil {
				t.Error(err)
			}
			check("after gc", nil)
			st.mu.Unlock()
		}
	}()
	wg.Wait()
	close(done)
	<-gcDone
	st.mu.Lock()
	defer st.mu.Unlock()
	check("at the end", nil)
	if len(st.pending) != 0 || len(st.blobHolds) != 0 {
		t.Fatalf("holds left: %d layers, %d blobs", len(st.pending), len(st.blobHolds))
	}
}

// Adds of the same new layer at the same moment share one directory and
// count every hold: the last release, not the first, decides its fate.
func TestConcurrentAddSameLayer(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	const adders = 4
	for round := 0; round < 6; round++ {
		raw := layerTar(t, "f", fmt.Sprint("round ", round))
		start := make(chan struct{})
		releases := make([]func(), adders)
		chains := make([]string, adders)
		var wg sync.WaitGroup
		for i := 0; i < adders; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				l, release, err := st.AddLayer(ctx, "", bytes.NewReader(raw), archive.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				releases[i], chains[i] = release, l.ChainID
			}()
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		c := chains[0]
		st.mu.Lock()
		holds := 0
		if p := st.pending[c]; p != nil {
			holds = p.holds
		}
		st.mu.Unlock()
		if holds != adders {
			t.Fatalf("round %d: %d holds on the layer, want %d", round, holds, adders)
		}
		for _, release := range releases[1:] {
			release()
		}
		if !exists(st.Layout().LayerDir(c)) {
			t.Fatalf("round %d: layer removed while still held", round)
		}
		st.register(t, c)
		releases[0]()
		if !st.registered(c) || !exists(st.Layout().LayerDir(c)) {
			t.Fatalf("round %d: registered layer gone", round)
		}
	}
}
