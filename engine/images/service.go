package images

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/content"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/trash"
)

// Buckets of the metadata DB owned by the image service (the layer and
// rootfs buckets are engine/snapshots' records, in the same transactions).
const (
	bucketImages = "images"     // image ID -> imageRecord
	bucketRefs   = "image-refs" // normalized reference -> image ID
)

// imageRecord is what the DB keeps of an image. Config holds the exact bytes
// of the config blob (its sha256 is the ID), so save and push reproduce it.
type imageRecord struct {
	ID       string    `json:"id"`
	Config   []byte    `json:"config"`
	Parent   string    `json:"parent,omitempty"`
	ChainIDs []string  `json:"chainIDs"` // bottom layer first
	Size     int64     `json:"size"`
	Added    time.Time `json:"added"`
}

// Blob and Layer are the snapshot records (engine/snapshots), named here
// for the store's callers.
type (
	Blob  = snapshots.Blob
	Layer = snapshots.Layer
)

// Service is the image service. All methods are safe for concurrent use.
type Service struct {
	snap    snapshots.Layout // layers and container layers below the root
	db      *store.DB
	log     *slog.Logger
	content content.Store

	// mu guards the caches below and serializes every change to the
	// image and reference buckets. It is also the layer store's lock
	// (snapshots.StoreOptions.Lock), so that "is this layer still
	// referenced" never races with a new reference being added, and
	// registering an image records its layers in the same transaction.
	mu     sync.RWMutex
	images map[string]*imageRecord // by ID
	refs   map[string]string       // normalized reference -> ID
	// layers are the layer snapshots and blobs, with the holds that keep
	// layers of transfers in progress from GC.
	layers *snapshots.Store

	containers ContainerUsage // nil: no container uses any image

	bin *trash.Bin // <root>/trash, emptied in the background

	events EventFunc
}

// Options are the image service's collaborators, fixed at construction.
type Options struct {
	// Log receives warnings about leftovers; nil discards them.
	Log *slog.Logger
	// Containers says which containers use an image (for rmi conflicts
	// and prune); nil means none does.
	Containers ContainerUsage
	// Events receives image events; nil sends them nowhere.
	Events EventFunc
	// Content is the blob store; nil: one in <root>/blobs/sha256.
	Content content.Store
	// KeepBlobs lists the blobs another user of the blob store (the
	// builder) still references; GC keeps them, and keeps every blob when
	// it fails. nil: the image service is the only user.
	KeepBlobs func(context.Context) (map[string]bool, error)
}

// Content is the blob store the service keeps layer tarballs and configs in
// (shared with pull, push and the archive formats).
func (s *Service) Content() content.Store { return s.content }

// LayerStore is the layer snapshots and their blobs, shared under the
// service's lock: pull, load, import, commit and the builders add layers
// through it, and the image service registers images over them.
func (s *Service) LayerStore() *snapshots.Store { return s.layers }

// ContainerUsage is what the image service asks of the containers. Both
// methods must be fast and must not call back into the image service.
type ContainerUsage interface {
	// ImageUsers lists the IDs of the containers created from imageID.
	ImageUsers(imageID string) []string
	// IsRunning reports whether a container is running (rmi refuses
	// those even with force).
	IsRunning(containerID string) bool
}

// New opens the image service rooted at root (created if needed), using db
// for records and opts for its collaborators. It removes what a crash may have left: temp files, layer
// directories and container layers that no record names, blobs no layer uses.
func New(root string, db *store.DB, opts Options) (*Service, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create image store %s: %w", root, err)
	}
	if err := db.EnsureBuckets(bucketImages, bucketRefs); err != nil {
		return nil, err
	}
	bin, err := trash.Open(filepath.Join(root, "trash"), log)
	if err != nil {
		return nil, err
	}
	s := &Service{
		snap: snapshots.Layout{Root: root},
		db:   db,
		log:  log,
		bin:  bin,

		images: map[string]*imageRecord{},
		refs:   map[string]string{},

		containers: opts.Containers,
		events:     opts.Events,
	}
	s.layers, err = snapshots.NewStore(snapshots.StoreOptions{
		Root: root, DB: db, Content: opts.Content, Trash: bin, Log: log, Lock: &s.mu,
		KeepBlobs: opts.KeepBlobs,
	})
	if err != nil {
		return nil, err
	}
	s.content = s.layers.Content()
	if err := s.load(); err != nil {
		return nil, err
	}
	s.cleanup()
	return s, nil
}

func (s *Service) load() error {
	return s.db.Bolt().View(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte(bucketImages)).ForEach(func(k, v []byte) error {
			var rec imageRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("image record %s: %w", k, err)
			}
			s.images[rec.ID] = &rec
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketRefs)).ForEach(func(k, v []byte) error {
			s.refs[string(k)] = string(v)
			return nil
		})
	})
}

// cleanup moves the leftovers of a crash (cut-short imports and pulls in
// tmp, container layers without a record) into the trash, which deletes
// them in the background: a rename each, so that gigabytes of leftovers
// never delay the daemon's start. Errors are logged: a leftover costs disk
// space, never correctness.
func (s *Service) cleanup() {
	tmp := s.layers.TempDir()
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if err := s.bin.Put(filepath.Join(tmp, e.Name())); err != nil {
			s.log.Warn("remove leftover", "path", e.Name(), "err", err)
		}
	}
	// Container layers without a record (a crash between mkdir and record,
	// or between record removal and rmdir).
	rootfs, _ := s.rootfsRecords()
	ents, _ = os.ReadDir(s.snap.OverlaysDir())
	for _, e := range ents {
		if _, ok := rootfs[e.Name()]; !ok {
			dir := filepath.Join(s.snap.OverlaysDir(), e.Name())
			merged := filepath.Join(dir, "merged")
			// Never hand a mounted tree to the deleter: it would delete
			// through the mount into image layers.
			if err := snapshots.UnmountAll(merged); err != nil || snapshots.IsMounted(merged) {
				s.log.Warn("leftover container layer still mounted: left in place", "id", e.Name())
				continue
			}
			if err := s.bin.Put(dir); err != nil {
				s.log.Warn("remove leftover container layer", "id", e.Name(), "err", err)
			}
		}
	}
	if _, err := s.GC(context.Background()); err != nil {
		s.log.Warn("image store garbage collection", "err", err)
	}
}

// usersOf lists the containers using imageID (none without Containers).
func (s *Service) usersOf(imageID string) []string {
	if s.containers == nil {
		return nil
	}
	return s.containers.ImageUsers(imageID)
}

// isRunning tells running users (a conflict even with force) from stopped
// ones; without Containers every user counts as stopped.
func (s *Service) isRunning(containerID string) bool {
	return s.containers != nil && s.containers.IsRunning(containerID)
}

func (s *Service) layerDir(chainID string) string { return s.snap.LayerDir(chainID) }

// trash moves p into <root>/trash (atomic); it is deleted there in the
// background. A missing p is not an error.
func (s *Service) trash(p string) error { return s.bin.Put(p) }

// WaitTrash blocks until everything moved to the trash so far is deleted
// (for tests and for figures such as prune's space reclaimed).
func (s *Service) WaitTrash() { s.bin.Wait() }
