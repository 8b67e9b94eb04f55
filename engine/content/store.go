package content

import (
	"context"
	"io"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Info is what the store knows of one blob.
type Info struct {
	Digest    digest.Digest
	Size      int64
	CreatedAt time.Time
}

// ReaderAt reads one blob at random offsets (layer tarballs are read in
// parallel chunks by registry clients and snapshotters alike).
type ReaderAt interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Provider reads blobs. Only desc.Digest is used to find the blob; a
// missing blob is a NotFound error.
type Provider interface {
	ReaderAt(ctx context.Context, desc ocispec.Descriptor) (ReaderAt, error)
}

// Ingester writes new blobs. A Writer is the only one for its ref until it
// is committed or closed; a second Writer for an active ref fails with an
// Unavailable error.
type Ingester interface {
	Writer(ctx context.Context, opts ...WriterOpt) (Writer, error)
}

// Writer streams one blob in. Nothing is visible under the blob's digest
// until Commit succeeds; Close without Commit discards what was written.
type Writer interface {
	io.WriteCloser
	// Digest is the digest of what was written so far.
	Digest() digest.Digest
	// Size is the number of bytes written so far.
	Size() int64
	// Commit checks size (when > 0) and expected (when set; else the
	// digest given by WithExpected, if any), syncs the blob and moves it
	// under its digest. A mismatch discards the blob.
	Commit(ctx context.Context, size int64, expected digest.Digest) error
}

// WalkFunc is called once per blob by Walk; an error stops the walk.
type WalkFunc func(Info) error

// Manager inspects and removes blobs.
type Manager interface {
	// Info returns the blob's digest and size, or a NotFound error.
	Info(ctx context.Context, dgst digest.Digest) (Info, error)
	// Walk calls fn for every blob, in no particular order.
	Walk(ctx context.Context, fn WalkFunc) error
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, dgst digest.Digest) error
}

// Store is the whole content store.
type Store interface {
	Provider
	Ingester
	Manager
}

// WriterOpts are the settings of one Writer.
type WriterOpts struct {
	// Ref names the ingest, unique among active writers ("" for an
	// anonymous one): a client that names its ingests after what they
	// fetch (a CRI puller, a builder's cache import) gets an Unavailable
	// error instead of writing the same blob twice at once.
	Ref string
	// Expected, when set, is what Commit checks the blob against if its
	// own arguments are zero.
	Expected digest.Digest
	Size     int64
	// Verified, when set, is the digest the writer's source checks the
	// stream against as it is read (a registry download does): the
	// writer does not hash the bytes a second time, Digest returns
	// Verified, and Commit refuses any other expected digest. The caller
	// commits only once the source has reported the stream's end, which
	// it does only on a match.
	Verified digest.Digest
}

// WriterOpt sets a field of WriterOpts.
type WriterOpt func(*WriterOpts)

// WithRef names the ingest.
func WithRef(ref string) WriterOpt { return func(o *WriterOpts) { o.Ref = ref } }

// WithExpected sets the digest (and size, when > 0) the blob must have.
func WithExpected(dgst digest.Digest, size int64) WriterOpt {
	return func(o *WriterOpts) { o.Expected, o.Size = dgst, size }
}

// WithVerified tells the writer that its source verifies the stream
// against dgst (see WriterOpts.Verified).
func WithVerified(dgst digest.Digest) WriterOpt {
	return func(o *WriterOpts) { o.Verified = dgst }
}

// WriteBlob copies r into a new blob and commits it, checking expected when
// set. It returns the blob's digest and size.
func WriteBlob(ctx context.Context, ing Ingester, r io.Reader, expected digest.Digest, opts ...WriterOpt) (digest.Digest, int64, error) {
	w, err := ing.Writer(ctx, opts...)
	if err != nil {
		return "", 0, err
	}
	defer w.Close()
	if _, err := io.Copy(w, r); err != nil {
		return "", 0, err
	}
	if err := w.Commit(ctx, 0, expected); err != nil {
		return "", 0, err
	}
	return w.Digest(), w.Size(), nil
}

// Open returns a blob as a stream (for copying it whole into a tar file or
// an upload). The caller closes it.
func Open(ctx context.Context, p Provider, dgst digest.Digest) (io.ReadCloser, error) {
	ra, err := p.ReaderAt(ctx, ocispec.Descriptor{Digest: dgst})
	if err != nil {
		return nil, err
	}
	return readCloser{io.NewSectionReader(ra, 0, ra.Size()), ra}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
