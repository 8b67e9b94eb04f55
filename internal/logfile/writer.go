package logfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Writer appends container output to a log file in a Format, splitting it
// into lines and rotating like Docker's file drivers: when the current file
// has reached maxSize, path.(n-1) becomes path.n, ..., path becomes path.1,
// and a new path is started. With compress, rotated files are gzipped in the
// background (path.1 becomes path.1.gz, as Docker names them); the next
// rotation waits for that. It is safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	format   Format
	path     string
	maxSize  int64 // 0: unlimited
	maxFiles int
	compress bool
	gz       sync.WaitGroup // the running compression of path.1, if any
	gzErr    error          // its failure, reported by the next Write
	f        *os.File
	size     int64
	buf      []byte
	lines    Lines
}

// pending is the unterminated tail of a stream, kept until its newline
// arrives; t is when its first byte was read.
type pending struct {
	b []byte
	t time.Time
}

// NewWriter opens (or creates, mode 0640) path for appending entries in
// format f. maxSize <= 0 means no rotation; maxFiles < 1 is taken as 1
// (rotation then truncates).
func NewWriter(f Format, path string, maxSize int64, maxFiles int, compress bool) (*Writer, error) {
	w, err := newWriter(path, maxSize, maxFiles)
	if err != nil {
		return nil, err
	}
	w.format, w.compress = f, compress && w.maxFiles > 1
	if _, err := os.Stat(path + ".1"); err == nil && w.compress {
		// An earlier writer died before compressing path.1: finish that
		// before the next rotation moves it.
		w.gz.Add(1)
		go func() {
			defer w.gz.Done()
			w.gzErr = gzipFile(path + ".1")
		}()
	}
	return w, nil
}

func newWriter(path string, maxSize int64, maxFiles int) (*Writer, error) {
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
	return &Writer{path: path, maxSize: maxSize, maxFiles: maxFiles, f: f, size: st.Size()}, nil
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
	w.buf = w.buf[:0]
	err := w.lines.Split(stream, p, t, w.add)
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
	if w.f == nil {
		return nil
	}
	w.buf = w.buf[:0]
	err := w.lines.Flush(stream, w.add)
	return errors.Join(err, w.flushBuf())
}

// Lines splits each stream's output into entries: a line each, a line
// longer than MaxLineSize in pieces. The zero value is ready; it is not
// safe for concurrent use.
type Lines struct {
	partial map[string]*pending
}

// Split hands add an entry per complete line of p (read at t), keeping an
// unterminated tail for the next call unless it reaches MaxLineSize.
// Entries share p's memory and are valid only during add.
func (l *Lines) Split(stream string, p []byte, t time.Time, add func(Entry) error) error {
	if l.partial == nil {
		l.partial = map[string]*pending{}
	}
	pd := l.partial[stream]
	if pd == nil {
		pd = &pending{}
		l.partial[stream] = pd
	}
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
				err = errors.Join(err, add(Entry{Stream: stream, Line: p[:i+1], Time: t}))
				p = p[i+1:]
				continue
			}
			pd.b = append(pd.b, p[:i+1]...)
			p = p[i+1:]
		}
		err = errors.Join(err, add(Entry{Stream: stream, Line: pd.b, Time: pd.t}))
		pd.b = pd.b[:0]
	}
	if len(pd.b) == 0 && cap(pd.b) > 4096 {
		pd.b = nil // do not pin a large buffer in an idle monitor
	}
	return err
}

// Flush hands add the unterminated tail of stream, if any, as a partial
// entry (no trailing newline).
func (l *Lines) Flush(stream string, add func(Entry) error) error {
	pd := l.partial[stream]
	if pd == nil || len(pd.b) == 0 {
		return nil
	}
	err := add(Entry{Stream: stream, Line: pd.b, Time: pd.t})
	pd.b = nil
	return err
}

// FlushAll flushes every stream's tail.
func (l *Lines) FlushAll(add func(Entry) error) error {
	var err error
	for s := range l.partial {
		err = errors.Join(err, l.Flush(s, add))
	}
	return err
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
	w.buf = w.format.Append(w.buf, e)
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
	w.gz.Wait() // path.1 must be compressed before it moves on
	if err := w.gzErr; err != nil {
		w.gzErr = nil
		return err
	}
	suffix := ""
	if w.compress {
		suffix = ".gz"
	}
	os.Remove(w.path + "." + strconv.Itoa(w.maxFiles-1) + suffix)
	for i := w.maxFiles - 1; i > 1; i-- {
		err := os.Rename(w.path+"."+strconv.Itoa(i-1)+suffix, w.path+"."+strconv.Itoa(i)+suffix)
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
	if w.compress {
		w.gz.Add(1)
		go func() {
			defer w.gz.Done()
			if err := gzipFile(w.path + ".1"); err != nil {
				w.gzErr = err // read by rotate after gz.Wait
			}
		}()
	}
	return nil
}

// gzipFile compresses name into name.gz (written aside, then renamed, so a
// reader sees either file complete) and removes name.
func gzipFile(name string) error {
	src, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("compress rotated log: %w", err)
	}
	defer src.Close()
	tmp := name + ".gz.tmp"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("compress rotated log: %w", err)
	}
	zw := gzip.NewWriter(dst)
	_, err = io.Copy(zw, src)
	err = errors.Join(err, zw.Close(), dst.Close())
	if err == nil {
		err = os.Rename(tmp, name+".gz")
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compress rotated log: %w", err)
	}
	return os.Remove(name)
}

// Close flushes every stream's unterminated tail and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	w.buf = w.buf[:0]
	err := w.lines.FlushAll(w.add)
	err = errors.Join(err, w.flushBuf(), w.f.Close())
	w.f = nil
	w.gz.Wait()
	return errors.Join(err, w.gzErr)
}

// Reopen closes the file and opens path again for appending (creating
// it): the CRI's ReopenContainerLog, after kubelet renamed the file to
// rotate it. Unterminated tails stay buffered for the new file.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("reopen container log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	old := w.f
	w.f, w.size = f, st.Size()
	return old.Close()
}
