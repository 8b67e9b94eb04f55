package buildkit

import (
	"context"
	"fmt"
	"sync"
	"time"

	ctdcontent "github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/pkg/filters"
	cerrdefs "github.com/containerd/errdefs"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/content"
)

// BlobGuard is what the shared blob store needs of Berth's image store:
// BuildKit's garbage collection may delete a blob only when no Berth layer
// (registered, being registered or held by a pull) uses it.
type BlobGuard interface {
	// DeleteBlobUnlessUsed removes blob d when nothing of Berth's uses it,
	// in one step under the image store's lock; it reports whether it did.
	DeleteBlobUnlessUsed(ctx context.Context, d digest.Digest) (bool, error)
}

// blobStore is a containerd content.Store over Berth's blob store: the
// backend below containerd's metadata DB, which BuildKit's worker uses as
// its content store. The metadata DB keeps labels, leases and the GC graph
// (namespaced records of which blob BuildKit knows); the bytes live once, in
// Berth's <data-root>/image/blobs, next to the layers of Berth's images. So
// a base image's blob is BuildKit's blob too (registered by digest, not
// copied) and a built image's layers are Berth's blobs when it is stored.
//
// Deletion is shared: containerd's GC asks to delete every backend blob it
// has no record of, which includes all of Berth's; the guard keeps those a
// Berth layer uses. Berth's own GC keeps the blobs BuildKit has records of
// (KeptBlobs) and the ones this process committed that the metadata DB may
// not show yet.
//
// Ingests are resumable within one run of berthd (Close keeps the partial
// blob, Abort drops it); Berth empties its ingest directory at start, so an
// ingest cut short by a restart starts over, as after containerd's GC.
type blobStore struct {
	blobs content.Store
	guard BlobGuard

	mu        sync.Mutex
	ingests   map[string]*ingest
	committed map[digest.Digest]bool // committed here, not deleted here since
}

var _ ctdcontent.Store = (*blobStore)(nil)

func newBlobStore(blobs content.Store, guard BlobGuard) *blobStore {
	return &blobStore{blobs: blobs, guard: guard, ingests: map[string]*ingest{}, committed: map[digest.Digest]bool{}}
}

// ingest is one ref's write in progress; a Writer is attached to it while
// a client writes (at most one at a time).
type ingest struct {
	ref       string
	w         content.Writer
	expected  digest.Digest
	total     int64
	startedAt time.Time
	updatedAt time.Time
	attached  bool
}

func (s *blobStore) Info(ctx context.Context, dgst digest.Digest) (ctdcontent.Info, error) {
	i, err := s.blobs.Info(ctx, dgst)
	if err != nil {
		return ctdcontent.Info{}, err
	}
	return ctdcontent.Info{Digest: i.Digest, Size: i.Size, CreatedAt: i.CreatedAt, UpdatedAt: i.CreatedAt}, nil
}

// Update: the backend has no mutable fields; labels live in the metadata DB
// above it.
func (s *blobStore) Update(ctx context.Context, info ctdcontent.Info, fieldpaths ...string) (ctdcontent.Info, error) {
	if _, err := s.Info(ctx, info.Digest); err != nil {
		return ctdcontent.Info{}, err
	}
	return ctdcontent.Info{}, fmt.Errorf("labels of blob %s: the blob store keeps none (the metadata DB does): %w", info.Digest, cerrdefs.ErrFailedPrecondition)
}

func (s *blobStore) Walk(ctx context.Context, fn ctdcontent.WalkFunc, fs ...string) error {
	filter, err := filters.ParseAll(fs...)
	if err != nil {
		return fmt.Errorf("%s: %w", err.Error(), cerrdefs.ErrInvalidArgument)
	}
	return s.blobs.Walk(ctx, func(i content.Info) error {
		ci := ctdcontent.Info{Digest: i.Digest, Size: i.Size, CreatedAt: i.CreatedAt, UpdatedAt: i.CreatedAt}
		if !filter.Match(infoAdaptor(ci)) {
			return nil
		}
		return fn(ci)
	})
}

// infoAdaptor lets containerd filters select blobs by digest (the backend
// has no labels).
func infoAdaptor(i ctdcontent.Info) filters.Adaptor {
	return filters.AdapterFunc(func(fieldpath []string) (string, bool) {
		if len(fieldpath) == 1 && fieldpath[0] == "digest" {
			return i.Digest.String(), true
		}
		return "", false
	})
}

// Delete removes the blob unless a Berth layer uses it; then it only stops
// counting as BuildKit's. A missing blob is NotFound, as containerd's.
func (s *blobStore) Delete(ctx context.Context, dgst digest.Digest) error {
	if _, err := s.blobs.Info(ctx, dgst); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.committed, dgst)
	s.mu.Unlock()
	_, err := s.guard.DeleteBlobUnlessUsed(ctx, dgst)
	return err
}

func (s *blobStore) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (ctdcontent.ReaderAt, error) {
	return s.blobs.ReaderAt(ctx, desc)
}

// keep reports the blobs committed through this store in this run and not
// deleted through it since (Berth's GC keeps them too: the metadata DB's
// record of a new blob is written just after the blob).
func (s *blobStore) keep(into map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.committed {
		into[d.String()] = true
	}
	for _, in := range s.ingests {
		if in.expected != "" {
			into[in.expected.String()] = true
		}
	}
}

func (in *ingest) status() ctdcontent.Status {
	return ctdcontent.Status{Ref: in.ref, Offset: in.w.Size(), Total: in.total, Expected: in.expected, StartedAt: in.startedAt, UpdatedAt: in.updatedAt}
}

func (s *blobStore) Status(ctx context.Context, ref string) (ctdcontent.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.ingests[ref]
	if !ok {
		return ctdcontent.Status{}, fmt.Errorf("ingest %q: %w", ref, cerrdefs.ErrNotFound)
	}
	return in.status(), nil
}

func (s *blobStore) ListStatuses(ctx context.Context, fs ...string) ([]ctdcontent.Status, error) {
	filter, err := filters.ParseAll(fs...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", err.Error(), cerrdefs.ErrInvalidArgument)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ctdcontent.Status
	for _, in := range s.ingests {
		st := in.status()
		if filter.Match(filters.AdapterFunc(func(fp []string) (string, bool) {
			if len(fp) == 1 && fp[0] == "ref" {
				return st.Ref, true
			}
			return "", false
		})) {
			out = append(out, st)
		}
	}
	return out, nil
}

// WalkStatusRefs lists the refs of ingests (containerd's GC aborts those it
// has no record of).
func (s *blobStore) WalkStatusRefs(ctx context.Context, fn func(string) error) error {
	s.mu.Lock()
	refs := make([]string, 0, len(s.ingests))
	for r := range s.ingests {
		refs = append(refs, r)
	}
	s.mu.Unlock()
	for _, r := range refs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *blobStore) Abort(ctx context.Context, ref string) error {
	s.mu.Lock()
	in, ok := s.ingests[ref]
	if ok {
		delete(s.ingests, ref)
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("ingest %q: %w", ref, cerrdefs.ErrNotFound)
	}
	return in.w.Close()
}

// Writer opens (or resumes) the ingest ref. With an expected digest that is
// already stored, it fails with AlreadyExists, as containerd's store does.
func (s *blobStore) Writer(ctx context.Context, opts ...ctdcontent.WriterOpt) (ctdcontent.Writer, error) {
	var wo ctdcontent.WriterOpts
	for _, o := range opts {
		if err := o(&wo); err != nil {
			return nil, err
		}
	}
	if wo.Ref == "" {
		return nil, fmt.Errorf("ref must not be empty: %w", cerrdefs.ErrInvalidArgument)
	}
	if wo.Desc.Digest != "" {
		if err := wo.Desc.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", err.Error(), cerrdefs.ErrInvalidArgument)
		}
		if _, err := s.blobs.Info(ctx, wo.Desc.Digest); err == nil {
			return nil, fmt.Errorf("content %v: %w", wo.Desc.Digest, cerrdefs.ErrAlreadyExists)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.ingests[wo.Ref]
	if ok {
		if in.attached {
			return nil, fmt.Errorf("ref %s locked: %w", wo.Ref, cerrdefs.ErrUnavailable)
		}
		if wo.Desc.Digest != "" && in.expected != "" && wo.Desc.Digest != in.expected {
			return nil, fmt.Errorf("ingest %s expects %s, not %s: %w", wo.Ref, in.expected, wo.Desc.Digest, cerrdefs.ErrFailedPrecondition)
		}
	} else {
		w, err := s.blobs.Writer(ctx)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		in = &ingest{ref: wo.Ref, w: w, startedAt: now, updatedAt: now}
		s.ingests[wo.Ref] = in
	}
	if wo.Desc.Digest != "" {
		in.expected = wo.Desc.Digest
	}
	if wo.Desc.Size > 0 {
		in.total = wo.Desc.Size
	}
	in.attached = true
	return &blobWriter{s: s, in: in}, nil
}

// blobWriter is a client's handle on an ingest.
type blobWriter struct {
	s      *blobStore
	in     *ingest
	closed bool
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("write to a closed ingest: %w", cerrdefs.ErrFailedPrecondition)
	}
	n, err := w.in.w.Write(p)
	w.s.mu.Lock()
	w.in.updatedAt = time.Now()
	w.s.mu.Unlock()
	return n, err
}

func (w *blobWriter) Digest() digest.Digest { return w.in.w.Digest() }

func (w *blobWriter) Status() (ctdcontent.Status, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.in.status(), nil
}

// Truncate supports only starting over (size 0), which is what clients do
// with an ingest they cannot resume.
func (w *blobWriter) Truncate(size int64) error {
	if size != 0 {
		return fmt.Errorf("truncating an ingest to %d bytes: %w", size, cerrdefs.ErrNotImplemented)
	}
	if w.in.w.Size() == 0 {
		return nil
	}
	nw, err := w.s.blobs.Writer(context.Background())
	if err != nil {
		return err
	}
	w.in.w.Close()
	w.s.mu.Lock()
	w.in.w = nw
	w.in.updatedAt = time.Now()
	w.s.mu.Unlock()
	return nil
}

// Close detaches from the ingest and keeps what was written (Abort drops
// it). Safe after Commit.
func (w *blobWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.s.mu.Lock()
	w.in.attached = false
	w.s.mu.Unlock()
	return nil
}

// Commit checks size and digest (a mismatch is FailedPrecondition and
// keeps the ingest, as containerd's store does), then stores the blob under
// its digest; a blob already there is AlreadyExists and ends the ingest.
func (w *blobWriter) Commit(ctx context.Context, size int64, expected digest.Digest, _ ...ctdcontent.Opt) error {
	if w.closed {
		return fmt.Errorf("commit of a closed ingest: %w", cerrdefs.ErrFailedPrecondition)
	}
	s, in := w.s, w.in
	if expected == "" {
		expected = in.expected
	}
	got := in.w.Digest()
	if size > 0 && size != in.w.Size() {
		return fmt.Errorf("unexpected commit size %d, expected %d: %w", in.w.Size(), size, cerrdefs.ErrFailedPrecondition)
	}
	if expected != "" && expected != got {
		return fmt.Errorf("unexpected commit digest %s, expected %s: %w", got, expected, cerrdefs.ErrFailedPrecondition)
	}
	w.closed = true
	// Counted as BuildKit's before it is visible (and before the metadata
	// DB records it), so that Berth's GC never sees it unowned.
	s.mu.Lock()
	delete(s.ingests, in.ref)
	s.committed[got] = true
	s.mu.Unlock()
	if _, err := s.blobs.Info(ctx, got); err == nil {
		in.w.Close()
		return fmt.Errorf("content %v: %w", got, cerrdefs.ErrAlreadyExists)
	}
	return in.w.Commit(ctx, 0, got)
}
