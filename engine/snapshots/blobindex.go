package snapshots

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// layerBlobIndex is the set of blobs the layer records name, read once and
// reused while the DB has not changed: BuildKit's content GC asks about
// every blob of the shared store in one pass (DeleteBlobUnlessUsed), and
// rmi about each removed layer's blob, and a scan of the layers bucket per
// question made a pass quadratic.
//
// The set is tagged with the ID of the last write transaction committed
// when it was read (bbolt numbers them in order): a lookup first opens a
// read transaction, and any write committed since (to any bucket) makes it
// read the records again. So a lookup sees exactly what a scan in its own
// transaction would, as before, and a GC pass during which Berth writes
// nothing scans once.
type layerBlobIndex struct {
	mu    sync.Mutex
	txid  int
	blobs map[string]bool
	scans int // reads of the layers bucket (tests count them)
}

// used reports whether a layer record of db names blob d.
func (ix *layerBlobIndex) used(db *bolt.DB, d string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	err := db.View(func(tx *bolt.Tx) error {
		if ix.blobs != nil && ix.txid == tx.ID() {
			return nil
		}
		ix.blobs = nil
		ix.scans++
		blobs := map[string]bool{}
		if err := ForEachLayer(tx, func(_ string, lr Layer) error {
			if lr.Blob != nil {
				blobs[lr.Blob.Digest] = true
			}
			return nil
		}); err != nil {
			return err
		}
		ix.blobs, ix.txid = blobs, tx.ID()
		return nil
	})
	// A read that failed counts the blob as used: nothing is deleted on a
	// guess.
	return err != nil || ix.blobs == nil || ix.blobs[d]
}

// scanCount is how many times the index read the layers bucket.
func (ix *layerBlobIndex) scanCount() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.scans
}
