package snapshots

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	digest "github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/imagetest"
)

// putBlob stores body as a blob no layer names (one of BuildKit's).
func putBlob(t *testing.T, st *Store, body string) digest.Digest {
	t.Helper()
	w, err := st.content.Writer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	d := w.Digest()
	if err := w.Commit(context.Background(), 0, ""); err != nil {
		t.Fatal(err)
	}
	return d
}

// addRegistered adds a layer of one file and registers it as an image's.
func addRegistered(t *testing.T, st *Store, name, body string) Layer {
	t.Helper()
	l, release, err := st.AddLayer(context.Background(), "", bytes.NewReader(layerTar(t, name, body)), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.register(t, l.ChainID)
	release()
	return l
}

// builderGCPass is what BuildKit's content GC does with the shared store:
// it asks to delete every blob it has no record of (here: all of them).
func builderGCPass(t *testing.T, st *Store) (deleted int) {
	t.Helper()
	var all []digest.Digest
	if err := st.content.Walk(context.Background(), func(i content.Info) error {
		all = append(all, i.Digest)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		ok, err := st.DeleteBlobUnlessUsed(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			deleted++
		}
	}
	return deleted
}

func hasBlob(st *Store, d string) bool {
	_, err := st.content.Info(context.Background(), digest.Digest(d))
	return err == nil
}

// A pass of BuildKit's GC over the whole blob store reads the layer
// records once, not once per blob, and still deletes exactly the blobs no
// layer uses; a layer registered or removed between two passes is seen by
// the next one.
func TestBuilderGCPassScansLayersOnce(t *testing.T) {
	st := newTestStore(t)
	var layers []Layer
	for i := range 5 {
		layers = append(layers, addRegistered(t, st, "f", fmt.Sprint("layer ", i)))
	}
	for i := range 20 {
		putBlob(t, st, fmt.Sprint("builder's blob ", i))
	}
	before := st.layerBlobs.scanCount()
	if n := builderGCPass(t, st); n != 20 {
		t.Fatalf("pass deleted %d blobs, want the builder's 20", n)
	}
	if n := st.layerBlobs.scanCount() - before; n != 1 {
		t.Fatalf("one pass over 25 blobs read the layer records %d times, want 1", n)
	}
	for _, l := range layers {
		if !hasBlob(st, l.Blob.Digest) {
			t.Fatalf("the blob of registered layer %s was deleted", l.ChainID)
		}
	}

	// Registered after the index was read: the next pass reads again.
	late := addRegistered(t, st, "g", "late")
	before = st.layerBlobs.scanCount()
	if n := builderGCPass(t, st); n != 0 || !hasBlob(st, late.Blob.Digest) {
		t.Fatalf("pass deleted %d blobs; the new layer's blob kept: %v", n, hasBlob(st, late.Blob.Digest))
	}
	if n := st.layerBlobs.scanCount() - before; n != 1 {
		t.Fatalf("second pass read the layer records %d times, want 1", n)
	}

	// Removed (rmi): its blob goes with it, and the index follows.
	st.mu.Lock()
	err := st.db.Bolt().Update(func(tx *bolt.Tx) error { return DeleteLayer(tx, late.ChainID) })
	st.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if n := builderGCPass(t, st); n != 1 || hasBlob(st, late.Blob.Digest) {
		t.Fatalf("pass after the layer's removal deleted %d blobs, want its blob", n)
	}
}

// Pulls registering layers while BuildKit's GC passes run: a registered
// layer's blob is never deleted, whatever the index read before.
func TestBuilderGCPassConcurrentRegister(t *testing.T) {
	st := newTestStore(t)
	const workers, rounds = 3, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var added []Layer
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				l := addRegistered(t, st, "f", fmt.Sprintf("w%d r%d", w, r))
				mu.Lock()
				added = append(added, l)
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		builderGCPass(t, st)
	}
	builderGCPass(t, st)
	for _, l := range added {
		if !hasBlob(st, l.Blob.Digest) {
			t.Fatalf("the blob of registered layer %s was deleted by a concurrent pass", l.ChainID)
		}
	}
}

// Berth's own deletions (rmi, the compression a push does) leave a blob
// the builder has records of: BuildKit's snapshots and cache records name
// it, and a later build or cache import reads it.
func TestRemovalsKeepBuilderBlobs(t *testing.T) {
	db, dir := imagetest.DB(t)
	var kept sync.Map
	st, err := NewStore(StoreOptions{Root: filepath.Join(dir, "image"), DB: db, KeepBlobs: func(context.Context) (map[string]bool, error) {
		m := map[string]bool{}
		kept.Range(func(k, _ any) bool { m[k.(string)] = true; return true })
		return m, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// An uncompressed layer (as import and load keep them) the builder
	// registered: a push compresses it and keeps the tar blob too.
	imported := addRegistered(t, st, "a", "tar")
	if imported.Blob.Digest != imported.DiffID {
		t.Fatalf("layer added from a tar has blob %s, want the tar (%s)", imported.Blob.Digest, imported.DiffID)
	}
	kept.Store(imported.Blob.Digest, true)
	if err := st.CompressLayers([]string{imported.ChainID}); err != nil {
		t.Fatal(err)
	}
	recs, err := st.Layers([]string{imported.ChainID})
	if err != nil || recs[0].Blob.Digest == imported.DiffID {
		t.Fatalf("layer not compressed: %+v %v", recs, err)
	}
	if !hasBlob(st, imported.DiffID) {
		t.Fatal("compressing a layer deleted the tar blob the builder has records of")
	}

	// rmi of a layer whose blob the builder has records of (it built on
	// the image).
	gz := recs[0].Blob.Digest
	kept.Store(gz, true)
	st.mu.Lock()
	var removed []Layer
	err = st.db.Bolt().Update(func(tx *bolt.Tx) (err error) {
		removed, err = st.UnregisterUnusedTx(tx, []string{imported.ChainID}, map[string]bool{})
		return err
	})
	if err == nil {
		st.RemoveLocked(removed)
	}
	st.mu.Unlock()
	if err != nil || len(removed) != 1 {
		t.Fatalf("rmi: %+v %v", removed, err)
	}
	if !hasBlob(st, gz) {
		t.Fatal("rmi deleted a blob the builder has records of")
	}
	// Once the builder drops them, GC takes both.
	kept.Delete(imported.DiffID)
	kept.Delete(gz)
	st.mu.Lock()
	res, err := st.GCLocked(context.Background(), map[string]bool{})
	st.mu.Unlock()
	if err != nil || hasBlob(st, imported.DiffID) || hasBlob(st, gz) {
		t.Fatalf("GC after the builder dropped them: %+v %v", res, err)
	}
}
