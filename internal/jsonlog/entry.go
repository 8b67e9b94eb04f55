// Package jsonlog owns Docker's json-file log format: the Writer the
// per-container monitor appends with, and the Reader behind `docker logs`.
// Files are byte-compatible with Docker's json-file driver, one JSON object a
// line: {"log":"line\n","stream":"stdout","time":"<RFC3339Nano UTC>"}.
// Rotation, tail and follow are internal/logfile's.
package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"time"
	"unicode/utf8"

	"github.com/berth-dev/berth/internal/logfile"
)

// Entry, Writer and ReadOptions are logfile's.
type (
	Entry       = logfile.Entry
	Writer      = logfile.Writer
	ReadOptions = logfile.ReadOptions
)

// MaxLineSize is the longest entry a Writer produces.
const MaxLineSize = logfile.MaxLineSize

// Format is the json-file encoding.
var Format logfile.Format = format{}

// NewWriter opens a json-file log at path for appending; see
// logfile.NewWriter.
func NewWriter(path string, maxSize int64, maxFiles int, compress bool) (*Writer, error) {
	return logfile.NewWriter(Format, path, maxSize, maxFiles, compress)
}

// Read emits the entries of the json-file log at path; see logfile.Read.
func Read(ctx context.Context, path string, maxFiles int, opts ReadOptions, emit func(Entry) error) error {
	return logfile.Read(ctx, Format, path, maxFiles, opts, emit)
}

type format struct{}

func (format) Append(b []byte, e Entry) []byte                  { return appendEntry(b, e) }
func (format) NewDecoder() logfile.Decoder                      { return logfile.NewLineDecoder(decodeLine) }
func (format) TailOffset(f *os.File, n int) (int64, int, error) { return logfile.TailLines(f, n) }

// appendEntry encodes e as one json-file line (with the trailing newline).
// The encoding mirrors moby's jsonlog.MarshalJSONBuf: field order log, stream,
// time; HTML-safe escaping; invalid UTF-8 replaced by U+FFFD.
func appendEntry(b []byte, e Entry) []byte {
	b = append(b, '{')
	if len(e.Line) > 0 {
		b = append(b, `"log":`...)
		b = appendString(b, e.Line)
		b = append(b, ',')
	}
	if e.Stream != "" {
		b = append(b, `"stream":`...)
		b = appendString(b, []byte(e.Stream))
		b = append(b, ',')
	}
	b = append(b, `"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, "\"}\n"...)
	return b
}

func appendString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if 0x20 <= c && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

type rawEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// decodeLine decodes one line; a torn line (the host crashed mid-write) is
// skipped, as Docker's decoder does not stop the whole stream for one.
func decodeLine(b []byte, emit func(Entry) error) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var r rawEntry
	if err := json.Unmarshal(b, &r); err != nil {
		return nil
	}
	return emit(Entry{Stream: r.Stream, Line: []byte(r.Log), Time: r.Time})
}
