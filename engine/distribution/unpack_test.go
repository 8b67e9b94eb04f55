package distribution

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// gzTar is a gzip'd tar of files followed by pad zero bytes.
func gzTar(t *testing.T, files map[string]string, pad int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Write(make([]byte, pad))
	zw.Close()
	return buf.Bytes()
}

// endless is a download that never ends until it is closed.
type endless struct{ closed atomic.Bool }

func (e *endless) Read(b []byte) (int, error) {
	if e.closed.Load() {
		return 0, errors.New("closed")
	}
	clear(b)
	return len(b), nil
}

func (e *endless) Close() error { e.closed.Store(true); return nil }

func TestUnpackStreamReadsToTheEnd(t *testing.T) {
	// Zero blocks after the tar's end (tar writers pad to their record
	// size) are read too: the blob's digest covers them.
	blob := gzTar(t, map[string]string{"a": strings.Repeat("x", 1<<20), "b": "hello"}, 8<<10)
	src := &countingReader{r: bytes.NewReader(blob)}
	dir := t.TempDir()
	res, err := unpackStream(src, io.NopCloser(nil), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if src.n != int64(len(blob)) {
		t.Fatalf("read %d of %d bytes", src.n, len(blob))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || string(b) != "hello" {
		t.Fatalf("b = %q, %v", b, err)
	}
	if res.DiffID == "" {
		t.Fatal("no diff ID")
	}
}

// A layer whose tar is broken while the rest of its download goes on
// returns its error: the stages are stopped by closing the download, not
// read to its end.
func TestUnpackStreamFailureClosesTheDownload(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat([]byte("not a tar header "), 64))
	zw.Flush() // the broken header arrives; the stream's end never does
	body := &endless{}
	src := io.MultiReader(bytes.NewReader(buf.Bytes()), body)
	if _, err := unpackStream(src, body, t.TempDir(), ""); err == nil {
		t.Fatal("a broken tar was accepted")
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
