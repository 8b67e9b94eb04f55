package content

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// Local is the Store on a local directory: blobs in <dir>/<hex>, ingests in
// progress in tmp (a directory on the same file system, emptied by the
// owner at start-up).
type Local struct {
	dir string
	tmp string

	mu     sync.Mutex
	active map[string]bool // refs of writers in progress
}

var _ Store = (*Local)(nil)

// NewLocal opens the store of blobs in dir, writing ingests below tmp. Both
// are created if needed.
func NewLocal(dir, tmp string) (*Local, error) {
	for _, d := range []string{dir, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create content store: %w", err)
		}
	}
	return &Local{dir: dir, tmp: tmp, active: map[string]bool{}}, nil
}

// Path is where the blob dgst is (or would be) on disk.
func (s *Local) Path(dgst digest.Digest) (string, error) {
	hexPart, ok := cutSHA256(dgst)
	if !ok {
		return "", errdefs.Invalid("invalid digest %q", dgst)
	}
	return filepath.Join(s.dir, hexPart), nil
}

func cutSHA256(dgst digest.Digest) (string, bool) {
	h, ok := strings.CutPrefix(string(dgst), "sha256:")
	return h, ok && len(h) == 64 && stringid.IsHex(h)
}

// ReaderAt opens the blob desc.Digest.
func (s *Local) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (ReaderAt, error) {
	p, err := s.Path(desc.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.NotFound("content %s: not found", desc.Digest)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileReaderAt{f, fi.Size()}, nil
}

type fileReaderAt struct {
	*os.File
	size int64
}

func (f fileReaderAt) Size() int64 { return f.size }

// Info stats the blob dgst.
func (s *Local) Info(ctx context.Context, dgst digest.Digest) (Info, error) {
	p, err := s.Path(dgst)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, errdefs.NotFound("content %s: not found", dgst)
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Digest: dgst, Size: fi.Size(), CreatedAt: fi.ModTime()}, nil
}

// Walk calls fn for every blob.
func (s *Local) Walk(ctx context.Context, fn WalkFunc) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if len(e.Name()) != 64 || !stringid.IsHex(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if err := fn(Info{Digest: digest.NewDigestFromEncoded(digest.SHA256, e.Name()), Size: fi.Size(), CreatedAt: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the blob dgst; a missing blob is not an error.
func (s *Local) Delete(ctx context.Context, dgst digest.Digest) error {
	p, err := s.Path(dgst)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Writer starts an ingest.
func (s *Local) Writer(ctx context.Context, opts ...WriterOpt) (Writer, error) {
	var o WriterOpts
	for _, opt := range opts {
		opt(&o)
	}
	if _, ok := cutSHA256(o.Verified); o.Verified != "" && !ok {
		return nil, errdefs.Invalid("invalid digest %q", o.Verified)
	}
	if o.Ref != "" {
		s.mu.Lock()
		if s.active[o.Ref] {
			s.mu.Unlock()
			return nil, errdefs.Unavailable("ref %s locked: another ingest is in progress", o.Ref)
		}
		s.active[o.Ref] = true
		s.mu.Unlock()
	}
	f, err := os.CreateTemp(s.tmp, "blob-")
	if err != nil {
		s.release(o.Ref)
		return nil, err
	}
	w := &writer{s: s, f: f, opts: o}
	if o.Verified == "" {
		w.h = sha256.New()
	}
	return w, nil
}

func (s *Local) release(ref string) {
	if ref == "" {
		return
	}
	s.mu.Lock()
	delete(s.active, ref)
	s.mu.Unlock()
}

// writer hashes as it writes into a temp file (unless its source
// verifies the stream: WriterOpts.Verified).
type writer struct {
	s       *Local
	f       *os.File
	h       hash.Hash // nil when opts.Verified is set
	size    int64
	flushed int64 // bytes whose writeback has been started
	opts    WriterOpts
	done    bool
}

// writebackChunk: every this many bytes written, the writer starts
// writing them to disk (without waiting), so that Commit's fsync finds
// little left to do.
const writebackChunk = 8 << 20

func (w *writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if w.h != nil {
		w.h.Write(p[:n])
	}
	w.size += int64(n)
	if w.size-w.flushed >= writebackChunk {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.flushed, w.size-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = w.size
	}
	return n, err
}

func (w *writer) Digest() digest.Digest {
	if w.h == nil {
		return w.opts.Verified
	}
	return digest.NewDigest(digest.SHA256, w.h)
}

func (w *writer) Size() int64 { return w.size }

func (w *writer) Commit(ctx context.Context, size int64, expected digest.Digest) error {
	if w.done {
		return errors.New("blob already committed")
	}
	w.done = true
	defer w.s.release(w.opts.Ref)
	if expected == "" {
		expected = w.opts.Expected
	}
	if size <= 0 {
		size = w.opts.Size
	}
	d := w.Digest()
	name := w.f.Name()
	fail := func(err error) error {
		w.f.Close()
		os.Remove(name)
		return err
	}
	if expected != "" && expected != d {
		return fail(fmt.Errorf("blob digest mismatch: expected %s, got %s", expected, d))
	}
	if size > 0 && size != w.size {
		return fail(fmt.Errorf("blob size mismatch: expected %d bytes, got %d", size, w.size))
	}
	if err := w.f.Sync(); err != nil {
		return fail(err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	p, _ := w.s.Path(d)
	if err := os.Rename(name, p); err != nil {
		os.Remove(name)
		return err
	}
	return syncDir(w.s.dir)
}

// Close discards an uncommitted blob. Safe after Commit.
func (w *writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	w.s.release(w.opts.Ref)
	w.f.Close()
	return os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
