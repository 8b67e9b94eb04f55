package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression is the compression of a stream, detected by its magic bytes.
type Compression int

const (
	Uncompressed Compression = iota
	Gzip
	Zstd
	Bzip2
	Xz
)

func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Bzip2:
		return "bzip2"
	case Xz:
		return "xz"
	}
	return "tar"
}

// Detect returns the compression announced by the first bytes of a stream.
func Detect(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(head, []byte("BZh")):
		return Bzip2
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return Xz
	}
	return Uncompressed
}

// Decompress returns the uncompressed form of r, whatever its compression
// (plain tar, gzip, zstd, bzip2 or xz). Close releases the decoder; it does not
// close r.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	return decompress(r, false)
}

// DecompressLayer is Decompress for an image layer's whole stream (pull,
// a blob of the content store): a gzip stream is decoded by ISA-L's igzip
// when it is installed (see gunzip.go), else as Decompress does. Close
// kills the decoder if it is still running and waits for it, and for a
// read of r in progress: a caller on a network stream closes that first.
func DecompressLayer(r io.Reader) (io.ReadCloser, Compression, error) {
	return decompress(r, true)
}

func decompress(r io.Reader, external bool) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Uncompressed, fmt.Errorf("read stream header: %w", err)
	}
	c := Detect(head)
	switch c {
	case Gzip:
		if p := gunzipPath(); external && p != "" {
			rc, err := startGunzip(p, br)
			return rc, c, err
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("invalid gzip stream: %w", err)
		}
		return zr, c, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			return nil, c, fmt.Errorf("invalid zstd stream: %w", err)
		}
		return zr.IOReadCloser(), c, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), c, nil
	case Xz:
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("invalid xz stream: %w", err)
		}
		return io.NopCloser(xr), c, nil
	}
	return io.NopCloser(br), c, nil
}

// DecompressLimited is Decompress for archives a client sends (docker cp,
// import, load): the uncompressed stream ends with an error wrapping
// ErrTooLarge once it passes max bytes (0: DefaultMaxSize), the cap the
// extractors apply, so a small compressed bomb cannot run longer than a
// plain tar could.
func DecompressLimited(r io.Reader, max int64) (io.ReadCloser, Compression, error) {
	rc, c, err := Decompress(r)
	if err != nil {
		return nil, c, err
	}
	if max <= 0 {
		max = DefaultMaxSize
	}
	return &limitedReader{rc: rc, left: max, max: max}, c, nil
}

type limitedReader struct {
	rc        io.ReadCloser
	left, max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a stream of exactly max bytes from a longer one.
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, l.max)
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedReader) Close() error { return l.rc.Close() }
