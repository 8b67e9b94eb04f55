// Package logdriver holds the log drivers that send a container's output
// away instead of to a file: syslog and journald. Like the file drivers
// (internal/jsonlog, internal/locallog) they run in the per-container
// monitor, so this package stays light (stdlib only). berthd validates the
// user's options with the same parsers (ParseSyslog, JournaldFields) and
// hands the monitor resolved settings.
package logdriver

import (
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/logfile"
)

// Writer is what the monitor logs a container's output through; the file
// drivers' *logfile.Writer is one too.
type Writer interface {
	// Write logs a chunk of stream ("stdout" or "stderr") output read at t.
	Write(stream string, p []byte, t time.Time) error
	// Flush logs the unterminated tail of stream, at its EOF.
	Flush(stream string) error
	// Close flushes every stream and releases the driver.
	Close() error
}

var _ Writer = (*logfile.Writer)(nil)

// lineWriter turns a chunk writer into a per-line sender, as Docker's log
// copier does for every driver: one message a line, without its newline,
// longer lines in pieces marked partial.
type lineWriter struct {
	mu    sync.Mutex
	lines logfile.Lines
	send  func(e logfile.Entry, partial bool) error
	close func() error
}

func (w *lineWriter) add(e logfile.Entry) error {
	line, partial := e.Line, true
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line, partial = line[:n-1], false
	}
	e.Line = line
	return w.send(e, partial)
}

func (w *lineWriter) Write(stream string, p []byte, t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines.Split(stream, p, t, w.add)
}

func (w *lineWriter) Flush(stream string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines.Flush(stream, w.add)
}

func (w *lineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.lines.FlushAll(w.add)
	if cerr := w.close(); err == nil {
		err = cerr
	}
	return err
}
