package images

import "io"

type ioReadCloser = io.ReadCloser

func nopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }

func copyN(w io.Writer, r io.Reader, n int64) { io.CopyN(w, r, n) }
