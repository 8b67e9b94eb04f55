package snapshots

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/trash"
)

// Store is the layer store: the registered layers (records in BucketLayers,
// directories below <root>/layers), the layers a transfer or commit holds
// before an image registers them, and the blobs those layers came from.
// Its methods are safe for concurrent use.
//
// Holds are the store's bookkeeping: a layer extracted but not yet
// registered (pending), or a registered one a transfer still needs, is held
// until its holder releases it; GC and rmi never remove a held layer, and a
// released layer that no record names is removed.
//
// The store keeps one lock, Options.Lock, which its owner (engine/images)
// also takes around its own records: the methods that end in Tx or Locked
// expect it held and work in the caller's bbolt transaction, so that
// "register this image and the layers it needs", "delete this image and the
// layers nothing uses" and GC are each one step under one lock.
type Store struct {
	layout  Layout
	db      *store.DB
	content content.Store
	bin     *trash.Bin
	log     *slog.Logger

	// mu guards the maps below and serializes every change to the layer
	// records (and, for the owner, to its own records naming layers).
	mu *sync.RWMutex
	// layers held by a transfer: extracted but not yet registered (rec
	// set), or registered (rec.ChainID empty); GC and rmi leave them.
	pending map[string]*pendingLayer
	// layers being extracted; concurrent EnsureLayer calls wait for them.
	flights map[string]*flight
	// blobs committed for a layer not yet registered.
	blobHolds map[string]int
	// the blobs layer records name (blobUsedLocked).
	layerBlobs layerBlobIndex

	keepBlobs func(context.Context) (map[string]bool, error)
}

type pendingLayer struct {
	rec   Layer
	holds int
}

type flight struct {
	done chan struct{}
	err  error
}

// StoreOptions are the layer store's collaborators.
type StoreOptions struct {
	// Root holds layers, tmp and overlay (see Layout); created if needed.
	Root string
	// DB holds the layer and root filesystem records.
	DB *store.DB
	// Content keeps layer blobs; nil: a local store in <Root>/blobs/sha256.
	Content content.Store
	// Trash deletes removed directories in the background; nil: a bin in
	// <Root>/trash.
	Trash *trash.Bin
	// Log receives warnings about leftovers; nil discards them.
	Log *slog.Logger
	// Lock is the one lock of the store and its owner's records; nil: the
	// store's own.
	Lock *sync.RWMutex
	// KeepBlobs lists the blobs another user of the blob store (the
	// builder) still references; GC keeps them, and keeps every blob when
	// it fails. nil: the store's layers are the blobs' only users.
	KeepBlobs func(context.Context) (map[string]bool, error)
}

// NewStore opens the layer store below opts.Root.
func NewStore(opts StoreOptions) (*Store, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"tmp", "layers", "overlay", "empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("create layer store %s: %w", root, err)
		}
	}
	// Layers are extracted below tmp (then renamed into layers). As an
	// ext4 "top of hierarchy" directory, each new layer directory goes to
	// a fresh block group instead of the one where the last removed layer
	// left thousands of recently freed inodes, which ext4 scans past on
	// every file creation (pulling Debian right after rmi took 3x longer).
	SetTopDir(filepath.Join(root, "tmp"))
	if err := makeInitLayer(Layout{Root: root}.InitDir()); err != nil {
		return nil, fmt.Errorf("create layer store %s: init layer: %w", root, err)
	}
	if err := opts.DB.EnsureBuckets(BucketLayers, BucketRootfs); err != nil {
		return nil, err
	}
	st := &Store{
		layout:    Layout{Root: root},
		db:        opts.DB,
		content:   opts.Content,
		bin:       opts.Trash,
		log:       opts.Log,
		mu:        opts.Lock,
		pending:   map[string]*pendingLayer{},
		flights:   map[string]*flight{},
		blobHolds: map[string]int{},
		keepBlobs: opts.KeepBlobs,
	}
	if st.log == nil {
		st.log = slog.New(slog.DiscardHandler)
	}
	if st.mu == nil {
		st.mu = &sync.RWMutex{}
	}
	if st.content == nil {
		if st.content, err = content.NewLocal(filepath.Join(root, "blobs", "sha256"), st.TempDir()); err != nil {
			return nil, err
		}
	}
	if st.bin == nil {
		if st.bin, err = trash.Open(filepath.Join(root, "trash"), st.log); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Layout names the store's directories.
func (st *Store) Layout() Layout { return st.layout }

// Content is the blob store layers are kept in.
func (st *Store) Content() content.Store { return st.content }

// TempDir is a private directory on the store's file system, for unpacking
// before a rename into place; its owner empties it at start-up.
func (st *Store) TempDir() string { return filepath.Join(st.layout.Root, "tmp") }

// ChildChainID is the chain ID of the layer diffID on top of the chain
// parent ("" for a base layer).
func ChildChainID(parent, diffID string) string {
	if parent == "" {
		return diffID
	}
	sum := sha256.Sum256([]byte(parent + " " + diffID))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// holdIfExistsLocked reports whether chainID is registered or pending; if
// so it takes a hold on it.
func (st *Store) holdIfExistsLocked(tx *bolt.Tx, chainID string) bool {
	if p, ok := st.pending[chainID]; ok {
		p.holds++
		return true
	}
	if HasLayer(tx, chainID) {
		// rec stays empty: the layer is registered already; the entry
		// only keeps GC away until the hold is released.
		st.pending[chainID] = &pendingLayer{holds: 1}
		return true
	}
	return false
}

// HoldLayer reports whether chainID is present (registered or pending) and,
// if so, holds it until ReleaseLayers.
func (st *Store) HoldLayer(chainID string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	ok := false
	_ = st.db.Bolt().View(func(tx *bolt.Tx) error {
		ok = st.holdIfExistsLocked(tx, chainID)
		return nil
	})
	return ok
}

// EnsureLayer makes sure the layer chainID exists, extracting it with
// extract into a fresh private directory if not. It returns whether the
// layer was already there. On success the layer is held until
// ReleaseLayers; concurrent callers for the same chain ID wait for the one
// extracting it.
func (st *Store) EnsureLayer(ctx context.Context, chainID string, extract func(dir string) (Layer, error)) (existed bool, err error) {
	for {
		if st.HoldLayer(chainID) {
			return true, nil
		}
		st.mu.Lock()
		if f, ok := st.flights[chainID]; ok {
			st.mu.Unlock()
			select {
			case <-f.done:
				if f.err != nil {
					return false, f.err
				}
				continue
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		f := &flight{done: make(chan struct{})}
		st.flights[chainID] = f
		st.mu.Unlock()

		err := st.extractLayer(chainID, extract)
		st.mu.Lock()
		delete(st.flights, chainID)
		f.err = err
		close(f.done)
		st.mu.Unlock()
		return false, err
	}
}

func (st *Store) extractLayer(chainID string, extract func(dir string) (Layer, error)) error {
	tmp, err := st.newLayerDir()
	if err != nil {
		return err
	}
	rec, err := extract(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	rec.ChainID = chainID
	_, err = st.adopt(tmp, rec)
	return err
}

// newLayerDir makes an empty directory below tmp to extract a layer into.
func (st *Store) newLayerDir() (string, error) {
	tmp, err := os.MkdirTemp(st.TempDir(), "layer-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// adopt moves an extracted directory into place as layer rec.ChainID and
// holds it. If the layer exists already, tmp is removed and the existing
// one is held.
func (st *Store) adopt(tmp string, rec Layer) (existed bool, err error) {
	if st.HoldLayer(rec.ChainID) {
		os.RemoveAll(tmp)
		return true, nil
	}
	// Make the files durable before the directory gets its real name.
	if f, err := os.Open(tmp); err == nil {
		_ = unix.Syncfs(int(f.Fd()))
		f.Close()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// Adopted or registered by someone else since the check above: their
	// directory is in place and must not be replaced.
	held := false
	_ = st.db.Bolt().View(func(tx *bolt.Tx) error {
		held = st.holdIfExistsLocked(tx, rec.ChainID)
		return nil
	})
	if held {
		os.RemoveAll(tmp)
		return true, nil
	}
	dst := st.layout.LayerDir(rec.ChainID)
	if _, err := os.Lstat(dst); err == nil {
		// An unregistered leftover: not in the DB, not pending.
		if err := os.RemoveAll(dst); err != nil {
			os.RemoveAll(tmp)
			return false, err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return false, fmt.Errorf("move layer into place: %w", err)
	}
	st.pending[rec.ChainID] = &pendingLayer{rec: rec, holds: 1}
	return false, nil
}

// ReleaseLayers drops holds taken by HoldLayer, EnsureLayer and the Add
// operations. A layer that ends up neither held nor registered is removed.
func (st *Store) ReleaseLayers(chainIDs []string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range chainIDs {
		p, ok := st.pending[c]
		if !ok {
			continue
		}
		p.holds--
		if p.holds > 0 {
			continue
		}
		delete(st.pending, c)
		registered := false
		_ = st.db.Bolt().View(func(tx *bolt.Tx) error {
			registered = HasLayer(tx, c)
			return nil
		})
		if !registered {
			if err := st.bin.Put(st.layout.LayerDir(c)); err != nil {
				st.log.Warn("remove unused layer", "chainID", c, "err", err)
			}
		}
	}
}

// Layers returns the records of chainIDs (registered or held).
func (st *Store) Layers(chainIDs []string) ([]Layer, error) {
	out := make([]Layer, 0, len(chainIDs))
	st.mu.RLock()
	defer st.mu.RUnlock()
	err := st.db.Bolt().View(func(tx *bolt.Tx) error {
		for _, c := range chainIDs {
			r, ok, err := GetLayer(tx, c)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, r)
				continue
			}
			if p, ok := st.pending[c]; ok && p.rec.ChainID != "" {
				out = append(out, p.rec)
				continue
			}
			return fmt.Errorf("layer %s is missing", c)
		}
		return nil
	})
	return out, err
}

// RegisterTx records, in the caller's transaction, every layer of chainIDs
// that is held but not registered yet; a layer neither registered nor held
// is an error. The caller holds the lock (and holds on the layers).
func (st *Store) RegisterTx(tx *bolt.Tx, chainIDs []string) error {
	for _, c := range chainIDs {
		if HasLayer(tx, c) {
			continue
		}
		p, ok := st.pending[c]
		if !ok || p.rec.ChainID == "" {
			return fmt.Errorf("layer %s is missing", c)
		}
		if err := PutLayer(tx, p.rec); err != nil {
			return err
		}
	}
	return nil
}

// usedTx adds to owned (the owner's references, changed in place) the
// layers held and those under a container's root filesystem.
func (st *Store) usedTx(tx *bolt.Tx, owned map[string]bool) (map[string]bool, error) {
	for c := range st.pending {
		owned[c] = true
	}
	err := ForEachRootfs(tx, func(_ string, r Rootfs) error {
		for _, c := range r.ChainIDs {
			owned[c] = true
		}
		return nil
	})
	return owned, err
}

// UnregisterUnusedTx unregisters, in the caller's transaction, the layers
// of chainIDs that neither owned (the owner's remaining references, changed
// in place), a hold nor a container's root filesystem uses, and returns
// them for RemoveLocked once the transaction has committed. The caller
// holds the lock.
func (st *Store) UnregisterUnusedTx(tx *bolt.Tx, chainIDs []string, owned map[string]bool) ([]Layer, error) {
	used, err := st.usedTx(tx, owned)
	if err != nil {
		return nil, err
	}
	var removed []Layer
	for _, c := range chainIDs {
		if used[c] || !HasLayer(tx, c) {
			continue
		}
		lr, _, _ := GetLayer(tx, c)
		lr.ChainID = c
		if err := DeleteLayer(tx, c); err != nil {
			return nil, err
		}
		used[c] = true // a chain may list the same layer twice
		removed = append(removed, lr)
	}
	return removed, nil
}

// RemoveLocked deletes the directories (top layer first) and the blobs no
// other layer uses of layers UnregisterUnusedTx returned; a blob the
// builder has records of stays for GC. The caller holds the lock.
func (st *Store) RemoveLocked(removed []Layer) {
	kept := keptOnce{st: st}
	for i := len(removed) - 1; i >= 0; i-- {
		lr := removed[i]
		if err := st.bin.Put(st.layout.LayerDir(lr.ChainID)); err != nil {
			st.log.Warn("remove layer", "chainID", lr.ChainID, "err", err)
		}
		if lr.Blob != nil && !st.blobUsedLocked(lr.Blob.Digest) && !kept.has(context.Background(), lr.Blob.Digest) {
			_ = st.deleteBlob(lr.Blob.Digest)
		}
	}
}

// GCResult says what a garbage collection pass removed.
type GCResult struct {
	Layers         []string // chain IDs
	Blobs          []string // digests
	SpaceReclaimed int64
}

// GCLocked removes exactly what nothing references: layer records that
// neither owned (the owner's references, changed in place), a hold nor a
// container's root filesystem uses; layer directories without a record or
// hold; blobs no layer or hold uses. The caller holds the lock.
func (st *Store) GCLocked(ctx context.Context, owned map[string]bool) (GCResult, error) {
	var res GCResult
	registered := map[string]bool{}
	blobs := map[string]bool{}
	err := st.db.Bolt().Update(func(tx *bolt.Tx) error {
		used, err := st.usedTx(tx, owned)
		if err != nil {
			return err
		}
		var drop []string
		if err := ForEachLayer(tx, func(k string, lr Layer) error {
			if !used[k] {
				drop = append(drop, k)
				res.Layers = append(res.Layers, k)
				res.SpaceReclaimed += lr.Size
				return nil
			}
			registered[k] = true
			if lr.Blob != nil {
				blobs[lr.Blob.Digest] = true
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range drop {
			if err := DeleteLayer(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for c, p := range st.pending {
		registered[c] = true
		if p.rec.Blob != nil {
			blobs[p.rec.Blob.Digest] = true
		}
	}
	for c := range st.flights {
		registered[c] = true
	}
	for d := range st.blobHolds {
		blobs[d] = true
	}
	ents, _ := os.ReadDir(st.layout.LayersDir())
	for _, e := range ents {
		if registered["sha256:"+e.Name()] {
			continue
		}
		if err := st.bin.Put(filepath.Join(st.layout.LayersDir(), e.Name())); err != nil {
			st.log.Warn("gc: remove layer directory", "dir", e.Name(), "err", err)
		}
	}
	kept, ok := st.keptElsewhere(ctx)
	var unused []content.Info
	_ = st.content.Walk(ctx, func(i content.Info) error {
		if ok && !blobs[i.Digest.String()] && !kept[i.Digest.String()] {
			unused = append(unused, i)
		}
		return nil
	})
	for _, i := range unused {
		if err := st.content.Delete(ctx, i.Digest); err == nil {
			res.SpaceReclaimed += i.Size
			res.Blobs = append(res.Blobs, i.Digest.String())
		}
	}
	if len(res.Layers)+len(res.Blobs) > 0 {
		st.log.Info("layer gc", "layers", len(res.Layers), "blobs", len(res.Blobs))
	}
	return res, nil
}
