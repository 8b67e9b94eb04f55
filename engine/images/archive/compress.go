package archive

import (
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// compressWriter wraps w to compress with c (gzip and zstd only; anything
// else is written as is).
func compressWriter(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case Zstd:
		return zstd.NewWriter(w)
	}
	return nopWriteCloser{w}, nil
}

// CompressWriter is compressWriter for other packages (save, push).
func CompressWriter(w io.Writer, c Compression) (io.WriteCloser, error) { return compressWriter(w, c) }
