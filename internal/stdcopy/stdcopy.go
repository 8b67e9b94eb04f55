// Package stdcopy writes Docker's multiplexed stream format: each frame is
// an 8-byte header (stream type, three zero bytes, big-endian uint32 size)
// followed by the payload. Used for attach, logs and exec without a TTY.
package stdcopy

import (
	"encoding/binary"
	"io"
)

// Stream types.
const (
	Stdin  byte = 0
	Stdout byte = 1
	Stderr byte = 2
	// Systemerr carries an error from the daemon in the middle of a stream.
	Systemerr byte = 3
)

// WriteFrame writes one frame of p on stream to w.
func WriteFrame(w io.Writer, stream byte, p []byte) error {
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	buf := make([]byte, 0, 8+len(p))
	buf = append(buf, hdr[:]...)
	buf = append(buf, p...)
	_, err := w.Write(buf)
	return err
}

// Writer frames everything written to it as one stream.
type Writer struct {
	W      io.Writer
	Stream byte
}

func (w *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := WriteFrame(w.W, w.Stream, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
