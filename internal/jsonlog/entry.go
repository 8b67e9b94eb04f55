// Package jsonlog owns Docker's json-file log format: the Writer the
// per-container monitor appends with, and the Reader behind `docker logs`.
// Files are byte-compatible with Docker's json-file driver, one JSON object a
// line: {"log":"line\n","stream":"stdout","time":"<RFC3339Nano UTC>"}.
package jsonlog

import (
	"time"
	"unicode/utf8"
)

// Entry is one log message: a line including its trailing "\n", or a partial
// line without it (a line longer than MaxLineSize, or the last bytes before
// EOF).
type Entry struct {
	Stream string // "stdout" or "stderr"
	Line   []byte
	Time   time.Time
}

// MaxLineSize is the longest entry the Writer produces; longer lines are
// split into several entries, like Docker's log copier does (16 KiB).
const MaxLineSize = 16 * 1024

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
