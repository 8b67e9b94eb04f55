package formatter

import (
	"bufio"
	"io"
	"text/tabwriter"
)

// TabWriter is a text/tabwriter whose output reaches out in large writes at
// Flush. tabwriter writes every cell and every run of padding on its own:
// on an unbuffered stdout a 200-row `ps` table made about 2,800 write(2)
// calls, a tenth of the command's CPU time. Callers must Flush.
type TabWriter struct {
	*tabwriter.Writer
	buf *bufio.Writer
}

// NewTabWriter aligns cells like tabwriter.NewWriter(out, minwidth,
// tabwidth, padding, ' ', 0).
func NewTabWriter(out io.Writer, minwidth, tabwidth, padding int) *TabWriter {
	buf := bufio.NewWriterSize(out, 32<<10)
	return &TabWriter{Writer: tabwriter.NewWriter(buf, minwidth, tabwidth, padding, ' ', 0), buf: buf}
}

// Flush writes out what was written since the last Flush.
func (t *TabWriter) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	return t.buf.Flush()
}
