// Package locallog owns Docker's "local" log format: each entry is a
// protobuf LogEntry (moby's api/types/plugins/logdriver/entry.proto:
// source=1, time_nano=2, line=3, partial=4) framed by its length as a
// big-endian uint32 before and after, so the file can be read backwards for
// --tail. Lines are stored without their trailing newline; partial=true
// marks a piece of a longer line (no newline is added back when reading).
// Files live in <container dir>/local-logs/container.log and rotate like
// json-file's; Docker's defaults are 20 MB x 5 files, rotated files gzipped.
//
// The encoding is written by hand: the monitor links this package and must
// not carry a protobuf runtime.
package locallog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/logfile"
)

// Docker's defaults for the local driver.
const (
	DefaultMaxSize  = 20 * 1024 * 1024
	DefaultMaxFiles = 5
	DefaultCompress = true
)

// FileName is the log's name inside the local-logs directory, as Docker's.
const FileName = "container.log"

// maxFrame bounds one encoded entry when reading (Docker's reader refuses
// entries over 1 MiB too): a larger length means a corrupt file.
const maxFrame = 1 << 20

// Format is the local encoding.
var Format logfile.Format = format{}

// NewWriter opens a local-format log at path for appending; see
// logfile.NewWriter.
func NewWriter(path string, maxSize int64, maxFiles int, compress bool) (*logfile.Writer, error) {
	return logfile.NewWriter(Format, path, maxSize, maxFiles, compress)
}

// Read emits the entries of the local-format log at path; see logfile.Read.
func Read(ctx context.Context, path string, maxFiles int, opts logfile.ReadOptions, emit func(logfile.Entry) error) error {
	return logfile.Read(ctx, Format, path, maxFiles, opts, emit)
}

type format struct{}

func (format) NewDecoder() logfile.Decoder { return &decoder{} }

// Append encodes e as one frame.
func (format) Append(b []byte, e logfile.Entry) []byte {
	line, partial := e.Line, true
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line, partial = line[:n-1], false
	}
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	if e.Stream != "" {
		b = append(b, 1<<3|2)
		b = binary.AppendUvarint(b, uint64(len(e.Stream)))
		b = append(b, e.Stream...)
	}
	if !e.Time.IsZero() {
		b = append(b, 2<<3|0)
		b = binary.AppendUvarint(b, uint64(e.Time.UnixNano()))
	}
	if len(line) > 0 {
		b = append(b, 3<<3|2)
		b = binary.AppendUvarint(b, uint64(len(line)))
		b = append(b, line...)
	}
	if partial {
		b = append(b, 4<<3|0, 1)
	}
	size := uint32(len(b) - start - 4)
	binary.BigEndian.PutUint32(b[start:], size)
	return binary.BigEndian.AppendUint32(b, size)
}

// TailOffset walks the frames backwards by their trailing lengths.
func (format) TailOffset(f *os.File, n int) (int64, int, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	pos := st.Size()
	var sz [4]byte
	found := 0
	for pos > 0 && found < n {
		if pos < 8 {
			return forwardTail(f, st.Size(), n)
		}
		if _, err := f.ReadAt(sz[:], pos-4); err != nil {
			return 0, 0, err
		}
		l := int64(binary.BigEndian.Uint32(sz[:]))
		if l > maxFrame || pos < l+8 {
			// A torn last frame (the host died mid-write): walk forward
			// from the start instead, by the leading lengths.
			return forwardTail(f, st.Size(), n)
		}
		pos -= l + 8
		found++
	}
	return pos, found, nil
}

// forwardTail finds the last n complete frames by walking the leading
// lengths from the start of the file; bytes after the last complete frame
// are ignored, as the decoder ignores them.
func forwardTail(f *os.File, size int64, n int) (int64, int, error) {
	ring := make([]int64, 0, min(n, 4096))
	var sz [4]byte
	pos := int64(0)
	count := 0
	for pos+8 <= size {
		if _, err := f.ReadAt(sz[:], pos); err != nil {
			return 0, 0, err
		}
		l := int64(binary.BigEndian.Uint32(sz[:]))
		if l > maxFrame || pos+l+8 > size {
			break
		}
		if len(ring) < n {
			ring = append(ring, pos)
		} else {
			ring[count%n] = pos
		}
		count++
		pos += l + 8
	}
	if count == 0 {
		return 0, 0, nil
	}
	if count <= n {
		return ring[0], count, nil
	}
	return ring[count%n], n, nil
}

var errCorrupt = errors.New("corrupt local log entry")

// decoder reads frames; a frame cut short at the end of the data waits for
// more bytes.
type decoder struct {
	buf []byte
}

func (d *decoder) Reset() { d.buf = d.buf[:0] }

func (d *decoder) Feed(p []byte, emit func(logfile.Entry) error) error {
	d.buf = append(d.buf, p...)
	b := d.buf
	for len(b) >= 4 {
		l := int(binary.BigEndian.Uint32(b))
		if l > maxFrame {
			return fmt.Errorf("read container log: %w", errCorrupt)
		}
		if len(b) < l+8 {
			break
		}
		if binary.BigEndian.Uint32(b[4+l:]) != uint32(l) {
			return fmt.Errorf("read container log: %w", errCorrupt)
		}
		e, err := decodeEntry(b[4 : 4+l])
		if err != nil {
			return fmt.Errorf("read container log: %w", err)
		}
		b = b[l+8:]
		if err := emit(e); err != nil {
			d.buf = append(d.buf[:0], b...)
			return err
		}
	}
	d.buf = append(d.buf[:0], b...)
	if len(d.buf) == 0 && cap(d.buf) > 64*1024 {
		d.buf = nil
	}
	return nil
}

// decodeEntry decodes one protobuf LogEntry, skipping fields it does not
// know (partial_log_metadata among them). The entry's line owns its bytes.
func decodeEntry(p []byte) (logfile.Entry, error) {
	var e logfile.Entry
	partial := false
	for len(p) > 0 {
		key, n := binary.Uvarint(p)
		if n <= 0 {
			return e, errCorrupt
		}
		p = p[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			v, n := binary.Uvarint(p)
			if n <= 0 {
				return e, errCorrupt
			}
			p = p[n:]
			switch field {
			case 2:
				e.Time = time.Unix(0, int64(v))
			case 4:
				partial = v != 0
			}
		case 2:
			l, n := binary.Uvarint(p)
			if n <= 0 || l > uint64(len(p)-n) {
				return e, errCorrupt
			}
			v := p[n : n+int(l)]
			p = p[n+int(l):]
			switch field {
			case 1:
				e.Stream = string(v)
			case 3:
				e.Line = append(make([]byte, 0, len(v)+1), v...)
			}
		case 1:
			if len(p) < 8 {
				return e, errCorrupt
			}
			p = p[8:]
		case 5:
			if len(p) < 4 {
				return e, errCorrupt
			}
			p = p[4:]
		default:
			return e, errCorrupt
		}
	}
	if !partial {
		e.Line = append(e.Line, '\n')
	}
	return e, nil
}
