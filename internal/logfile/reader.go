package logfile

import (
	"compress/gzip"
	"context"
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

// Read emits the entries of the log at path in format fm and its rotated
// files (path.(maxFiles-1) ... path.1, each possibly gzipped as path.N.gz,
// then path), oldest first. Tail picks the last Tail entries of all files;
// Since and Until then filter them by time.
//
// With Follow, Read keeps emitting entries appended to path, across
// rotations (inotify, no polling), until ctx is done or Until has passed;
// on ctx done it first emits what the current file already holds, so output
// written before the container stopped is not lost, then returns nil.
// Without Follow, Read returns after the last entry present when it opened
// the files. An error from emit stops Read and is returned.
func Read(ctx context.Context, fm Format, path string, maxFiles int, opts ReadOptions, emit func(Entry) error) error {
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
	files, err := openLogFiles(path, maxFiles)
	defer closeLogFiles(files)
	if err != nil {
		return err
	}
	if opts.Tail >= 0 {
		if err := seekTail(fm, files, opts.Tail); err != nil {
			return err
		}
	}
	d := &decoder{dec: fm.NewDecoder(), opts: opts, emit: emit}
	for _, lf := range files {
		if lf.f == nil || lf.start < 0 {
			continue
		}
		if err := d.readFile(lf); err != nil {
			return d.result(err)
		}
	}
	if !opts.Follow {
		return nil
	}
	cur := files[len(files)-1].f
	files[len(files)-1].f = nil // follow owns it now
	return d.result(follow(ctx, w, path, cur, d))
}

// openLogFiles opens every file first, oldest first, so a rotation while
// reading does not skip or repeat a file: open descriptors follow renamed
// files. The current file is always there (f nil if it does not exist);
// the rotated ones only if they exist. The files opened are returned with
// an error too, for the caller to close.
func openLogFiles(path string, maxFiles int) ([]*logFile, error) {
	var files []*logFile
	for i := maxFiles - 1; i >= 0; i-- {
		lf, err := openLogFile(path, i)
		if err != nil {
			return files, err
		}
		if lf.f != nil || i == 0 {
			files = append(files, lf)
		}
	}
	return files, nil
}

func closeLogFiles(files []*logFile) {
	for _, f := range files {
		if f.f != nil {
			f.f.Close()
		}
	}
}

// seekTail sets where each file starts so that only the last tail entries
// are read, counting from the newest file back; older files are skipped.
func seekTail(fm Format, files []*logFile, tail int) error {
	need := tail
	for i := len(files) - 1; i >= 0; i-- {
		lf := files[i]
		if lf.f == nil {
			continue
		}
		if need == 0 {
			lf.start = -1 // skip the whole file
			continue
		}
		var n int
		var err error
		if lf.gz {
			n, err = lf.countTail(fm, need)
		} else {
			lf.start, n, err = fm.TailOffset(lf.f, need)
		}
		if err != nil {
			return fmt.Errorf("read container log: %w", err)
		}
		need -= n
	}
	return nil
}

// readFile decodes one file from lf.start (a compressed one from its
// beginning, dropping its first lf.skip entries).
func (d *decoder) readFile(lf *logFile) error {
	d.reset()
	d.skip = lf.skip
	if lf.gz {
		return d.readGzip(lf.f)
	}
	if _, err := lf.f.Seek(lf.start, io.SeekStart); err != nil {
		return err
	}
	return d.readAll(lf.f)
}

// logFile is one file of a log, oldest first: path.N.gz or path.N, or path.
type logFile struct {
	f     *os.File // nil: absent
	gz    bool
	start int64 // plain file: where reading starts; -1: skip the file
	skip  int   // gzipped file: entries to skip before emitting
}

func openLogFile(path string, i int) (*logFile, error) {
	name := path
	if i > 0 {
		name = path + "." + strconv.Itoa(i)
		// A complete .gz wins over a plain file being compressed.
		if f, err := os.Open(name + ".gz"); err == nil {
			return &logFile{f: f, gz: true}, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open container log: %w", err)
		}
	}
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &logFile{}, nil
		}
		return nil, fmt.Errorf("open container log: %w", err)
	}
	return &logFile{f: f}, nil
}

// countTail decodes a gzipped file to count its entries, and sets skip so
// that only its last need entries are emitted. It returns how many it keeps.
func (lf *logFile) countTail(fm Format, need int) (int, error) {
	total := 0
	d := &decoder{dec: fm.NewDecoder(), emit: func(Entry) error { total++; return nil }}
	if err := d.readGzip(lf.f); err != nil {
		return 0, err
	}
	if _, err := lf.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if total > need {
		lf.skip = total - need
		return need, nil
	}
	return total, nil
}

// errUntil stops reading once an entry is later than opts.Until.
var errUntil = errors.New("past until")

type decoder struct {
	dec  Decoder
	opts ReadOptions
	emit func(Entry) error
	skip int // entries still to drop (tail of a gzipped file)
	buf  []byte
}

func (d *decoder) reset() { d.dec.Reset() }

func (d *decoder) result(err error) error {
	if errors.Is(err, errUntil) {
		return nil
	}
	return err
}

// readGzip decodes a whole gzipped file.
func (d *decoder) readGzip(f *os.File) error {
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read container log: %w", err)
	}
	defer zr.Close()
	return d.feedFrom(zr)
}

// readAll decodes every complete line from f's offset to its current end.
func (d *decoder) readAll(f *os.File) error { return d.feedFrom(f) }

// feedFrom decodes every complete line r yields until its end.
func (d *decoder) feedFrom(r io.Reader) error {
	if d.buf == nil {
		d.buf = make([]byte, 32*1024)
	}
	for {
		n, err := r.Read(d.buf)
		if n > 0 {
			if e := d.dec.Feed(d.buf[:n], d.filter); e != nil {
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

// filter applies skip, Since and Until before emitting.
func (d *decoder) filter(e Entry) error {
	if d.skip > 0 {
		d.skip--
		return nil
	}
	if !d.opts.Since.IsZero() && e.Time.Before(d.opts.Since) {
		return nil
	}
	if !d.opts.Until.IsZero() && e.Time.After(d.opts.Until) {
		return errUntil
	}
	return d.emit(e)
}
