package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// ReadOptions select which entries Read emits, as `docker logs` flags do.
type ReadOptions struct {
	Since, Until time.Time // zero: no bound
	Tail         int       // entries counted from the end; -1: all
	Follow       bool
}

// Read emits the entries of the log at path and its rotated files
// (path.(maxFiles-1) ... path.1, then path), oldest first. Tail picks the
// last Tail entries of all files; Since and Until then filter them by time.
//
// With Follow, Read keeps emitting entries appended to path, across
// rotations (inotify, no polling), until ctx is done or Until has passed;
// on ctx done it first emits what the current file already holds, so output
// written before the container stopped is not lost, then returns nil.
// Without Follow, Read returns after the last entry present when it opened
// the files. An error from emit stops Read and is returned.
func Read(ctx context.Context, path string, maxFiles int, opts ReadOptions, emit func(Entry) error) error {
	if maxFiles < 1 {
		maxFiles = 1
	}
	// The watch is set up before the files are opened so that nothing
	// written in between is missed.
	var w *watcher
	if opts.Follow {
		var err error
		if w, err = newWatcher(path); err != nil {
			return err
		}
		defer w.close()
	}

	// Open every file first, so a rotation while reading does not skip or
	// repeat a file: open descriptors follow renamed files.
	var files []*os.File
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i := maxFiles - 1; i >= 0; i-- {
		name := path
		if i > 0 {
			name = path + "." + strconv.Itoa(i)
		}
		f, err := os.Open(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				if i == 0 {
					files = append(files, nil)
				}
				continue
			}
			return fmt.Errorf("open container log: %w", err)
		}
		files = append(files, f)
	}

	starts := make([]int64, len(files))
	if opts.Tail >= 0 {
		need := opts.Tail
		for i := len(files) - 1; i >= 0; i-- {
			if files[i] == nil {
				continue
			}
			if need == 0 {
				starts[i] = -1 // skip the whole file
				continue
			}
			off, n, err := tailOffset(files[i], need)
			if err != nil {
				return fmt.Errorf("read container log: %w", err)
			}
			starts[i] = off
			need -= n
		}
	}

	d := &decoder{opts: opts, emit: emit}
	for i, f := range files {
		if f == nil || starts[i] < 0 {
			continue
		}
		if _, err := f.Seek(starts[i], io.SeekStart); err != nil {
			return fmt.Errorf("read container log: %w", err)
		}
		d.reset()
		if err := d.readAll(f); err != nil {
			return d.result(err)
		}
	}
	if !opts.Follow {
		return nil
	}
	cur := files[len(files)-1]
	files[len(files)-1] = nil // follow owns it now
	return d.result(follow(ctx, w, path, cur, d))
}

// errUntil stops reading once an entry is later than opts.Until.
var errUntil = errors.New("past until")

type decoder struct {
	opts    ReadOptions
	emit    func(Entry) error
	partial []byte // an incomplete last line, completed by a later read
	buf     []byte
}

func (d *decoder) reset() { d.partial = d.partial[:0] }

func (d *decoder) result(err error) error {
	if errors.Is(err, errUntil) {
		return nil
	}
	return err
}

// readAll decodes every complete line from f's offset to its current end.
func (d *decoder) readAll(f *os.File) error {
	if d.buf == nil {
		d.buf = make([]byte, 32*1024)
	}
	for {
		n, err := f.Read(d.buf)
		if n > 0 {
			if e := d.feed(d.buf[:n]); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read container log: %w", err)
		}
	}
}

func (d *decoder) feed(p []byte) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.partial = append(d.partial, p...)
			return nil
		}
		line := p[:i]
		if len(d.partial) > 0 {
			d.partial = append(d.partial, line...)
			line = d.partial
		}
		p = p[i+1:]
		err := d.line(line)
		d.partial = d.partial[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

type rawEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func (d *decoder) line(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var r rawEntry
	if err := json.Unmarshal(b, &r); err != nil {
		// A torn line (the daemon host crashed mid-write) is skipped, as
		// Docker's decoder does not stop the whole stream for one.
		return nil
	}
	if !d.opts.Since.IsZero() && r.Time.Before(d.opts.Since) {
		return nil
	}
	if !d.opts.Until.IsZero() && r.Time.After(d.opts.Until) {
		return errUntil
	}
	return d.emit(Entry{Stream: r.Stream, Line: []byte(r.Log), Time: r.Time})
}

// tailOffset returns the offset in f where its last n lines begin, and how
// many lines (<= n) were found. It reads backwards, so a small tail of a
// large file costs little.
func tailOffset(f *os.File, n int) (int64, int, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	end := st.Size()
	if end == 0 {
		return 0, 0, nil
	}
	buf := make([]byte, 32*1024)
	pos := end
	found := 0
	// The file's final byte is normally the newline ending the last line;
	// it does not start a new line, so it is not counted.
	skipLast := true
	for pos > 0 {
		size := int64(len(buf))
		if pos < size {
			size = pos
		}
		pos -= size
		if _, err := f.ReadAt(buf[:size], pos); err != nil && err != io.EOF {
			return 0, 0, err
		}
		for i := size - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			if skipLast && pos+i == end-1 {
				continue
			}
			found++
			if found == n {
				return pos + i + 1, found, nil
			}
		}
		skipLast = false
	}
	// Reached the start: the first line counts too.
	return 0, found + 1, nil
}
