package images

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/stringid"
)

// contentStore holds blobs addressed by digest, OCI-layout style:
// <root>/blobs/sha256/<hex>. A blob appears under its name only once it is
// complete, verified and on disk (temp file + fsync + rename), so a reader
// never sees half a blob and a crash leaves at most a temp file.
type contentStore struct {
	dir string // <root>/blobs/sha256
	tmp string // <root>/tmp
}

func (c *contentStore) path(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 || !stringid.IsHex(hexPart) {
		return "", fmt.Errorf("invalid digest %q", digest)
	}
	return filepath.Join(c.dir, hexPart), nil
}

// Has reports whether the blob is present.
func (c *contentStore) Has(digest string) bool {
	p, err := c.path(digest)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Open opens a blob for reading.
func (c *contentStore) Open(digest string) (*os.File, error) {
	p, err := c.path(digest)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Delete removes a blob; a missing blob is not an error.
func (c *contentStore) Delete(digest string) error {
	p, err := c.path(digest)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// List returns the digests of all blobs.
func (c *contentStore) List() ([]string, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		if len(e.Name()) == 64 && stringid.IsHex(e.Name()) {
			out = append(out, "sha256:"+e.Name())
		}
	}
	return out, nil
}

// blobWriter writes one blob to a temp file, hashing as it goes.
type blobWriter struct {
	c    *contentStore
	f    *os.File
	h    hash.Hash
	size int64
	done bool
}

// Writer starts a new blob. Call Commit or Abort.
func (c *contentStore) Writer() (*blobWriter, error) {
	f, err := os.CreateTemp(c.tmp, "blob-")
	if err != nil {
		return nil, err
	}
	return &blobWriter{c: c, f: f, h: sha256.New()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	return n, err
}

// Digest is the digest of what was written so far.
func (w *blobWriter) Digest() string { return "sha256:" + hex.EncodeToString(w.h.Sum(nil)) }

// Size is the number of bytes written so far.
func (w *blobWriter) Size() int64 { return w.size }

// Commit verifies the digest (if expected is set), syncs and moves the blob
// into place. It returns the digest.
func (w *blobWriter) Commit(expected string) (string, error) {
	if w.done {
		return "", errors.New("blob already committed")
	}
	w.done = true
	d := w.Digest()
	name := w.f.Name()
	if expected != "" && expected != d {
		w.f.Close()
		os.Remove(name)
		return "", fmt.Errorf("blob digest mismatch: expected %s, got %s", expected, d)
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(name)
		return "", err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(name)
		return "", err
	}
	p, _ := w.c.path(d)
	if err := os.Rename(name, p); err != nil {
		os.Remove(name)
		return "", err
	}
	return d, syncDir(w.c.dir)
}

// Abort discards the blob. Safe after Commit.
func (w *blobWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// Put writes r as a blob, verifying expected if set.
func (c *contentStore) Put(r io.Reader, expected string) (string, int64, error) {
	w, err := c.Writer()
	if err != nil {
		return "", 0, err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return "", 0, err
	}
	d, err := w.Commit(expected)
	return d, w.size, err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
