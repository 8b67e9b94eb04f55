// Package logfile owns what Docker's file-based log drivers (json-file and
// local) share: entries, splitting output into lines, size-based rotation
// with optional gzip of rotated files, and reading back with tail, since,
// until and follow. A Format says how entries are encoded on disk;
// internal/jsonlog and internal/locallog are the two formats.
//
// The Writer runs in the per-container monitor, so this package stays light
// (stdlib and golang.org/x/sys only).
package logfile

import (
	"os"
	"time"
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

// Format is one on-disk encoding of entries.
type Format interface {
	// Append encodes e at the end of b.
	Append(b []byte, e Entry) []byte
	// NewDecoder returns a decoder for a stream of encoded entries.
	NewDecoder() Decoder
	// TailOffset returns the offset in f where its last n entries begin,
	// and how many entries (<= n) were found before the start of the file.
	TailOffset(f *os.File, n int) (int64, int, error)
}

// Decoder turns a byte stream back into entries.
type Decoder interface {
	// Feed decodes every entry completed by p, keeping an incomplete last
	// entry for the next call, and calls emit for each. An error from emit
	// is returned as is.
	Feed(p []byte, emit func(Entry) error) error
	// Reset drops a kept incomplete entry (the next bytes start a new file).
	Reset()
}
