package jsonlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Writer appends container output to a json-file log, splitting it into
// lines and rotating like Docker's json-file driver: when the current file
// has reached MaxSize, path.(n-1) becomes path.n, ..., path becomes path.1,
// and a new path is started. It is safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	path     string
	maxSize  int64 // 0: unlimited
	maxFiles int
	f        *os.File
	size     int64
	buf      []byte
	partial  map[string]*pending
}

// pending is the unterminated tail of a stream, kept until its newline
// arrives; t is when its first byte was read.
type pending struct {
	b []byte
	t time.Time
}

// NewWriter opens (or creates, mode 0640) path for appending. maxSize <= 0
// means no rotation; maxFiles < 1 is taken as 1 (rotation then truncates).
func NewWriter(path string, maxSize int64, maxFiles int) (*Writer, error) {
	if maxFiles < 1 {
		maxFiles = 1
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{path: path, maxSize: maxSize, maxFiles: maxFiles, f: f, size: st.Size(),
		partial: map[string]*pending{}}, nil
}

// Write logs a chunk of stream output read at t. Complete lines become one
// entry each; an unterminated tail waits for the next chunk, unless it
// reaches MaxLineSize, in which case it is written as partial entries.
func (w *Writer) Write(stream string, p []byte, t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	pd := w.partial[stream]
	if pd == nil {
		pd = &pending{}
		w.partial[stream] = pd
	}
	w.buf = w.buf[:0]
	var err error
	for len(p) > 0 {
		if len(pd.b) == 0 {
			pd.t = t
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := MaxLineSize - len(pd.b)
			if len(p) < room {
				pd.b = append(pd.b, p...)
				break
			}
			pd.b = append(pd.b, p[:room]...)
			p = p[room:]
		} else if len(pd.b)+i+1 > MaxLineSize {
			room := MaxLineSize - len(pd.b)
			pd.b = append(pd.b, p[:room]...)
			p = p[room:]
		} else {
			if len(pd.b) == 0 {
				err = errors.Join(err, w.add(Entry{Stream: stream, Line: p[:i+1], Time: t}))
				p = p[i+1:]
				continue
			}
			pd.b = append(pd.b, p[:i+1]...)
			p = p[i+1:]
		}
		err = errors.Join(err, w.add(Entry{Stream: stream, Line: pd.b, Time: pd.t}))
		pd.b = pd.b[:0]
	}
	if len(pd.b) == 0 && cap(pd.b) > 4096 {
		pd.b = nil // do not pin a large buffer in an idle monitor
	}
	return errors.Join(err, w.flushBuf())
}

// Flush writes the unterminated tail of stream, if any, as a partial entry
// (no trailing newline), as Docker does at EOF.
func (w *Writer) Flush(stream string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushPartial(stream)
}

func (w *Writer) flushPartial(stream string) error {
	pd := w.partial[stream]
	if pd == nil || len(pd.b) == 0 || w.f == nil {
		return nil
	}
	w.buf = w.buf[:0]
	err := w.add(Entry{Stream: stream, Line: pd.b, Time: pd.t})
	pd.b = nil
	return errors.Join(err, w.flushBuf())
}

// WriteEntry writes one entry as is (no line splitting).
func (w *Writer) WriteEntry(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	w.buf = w.buf[:0]
	err := w.add(e)
	return errors.Join(err, w.flushBuf())
}

// add encodes e into w.buf, first rotating if the file is full. Rotation
// happens between entries, so an entry is never split across files.
func (w *Writer) add(e Entry) error {
	if w.maxSize > 0 && w.size+int64(len(w.buf)) >= w.maxSize {
		if err := w.flushBuf(); err != nil {
			return err
		}
		if err := w.rotate(); err != nil {
			return err
		}
	}
	w.buf = appendEntry(w.buf, e)
	return nil
}

func (w *Writer) flushBuf() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	w.buf = w.buf[:0]
	if cap(w.buf) > 64*1024 {
		w.buf = nil
	}
	return err
}

func (w *Writer) rotate() error {
	if w.maxFiles < 2 {
		if err := w.f.Truncate(0); err != nil {
			return fmt.Errorf("truncate container log: %w", err)
		}
		w.size = 0
		return nil
	}
	for i := w.maxFiles - 1; i > 1; i-- {
		err := os.Rename(w.path+"."+strconv.Itoa(i-1), w.path+"."+strconv.Itoa(i))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate container log: %w", err)
		}
	}
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("rotate container log: %w", err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("rotate container log: %w", err)
	}
	w.f.Close()
	w.f = f
	w.size = 0
	return nil
}

// Close flushes every stream's unterminated tail and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	var err error
	for s := range w.partial {
		err = errors.Join(err, w.flushPartial(s))
	}
	err = errors.Join(err, w.f.Close())
	w.f = nil
	return err
}
