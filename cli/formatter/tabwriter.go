package formatter

import (
	"bufio"
	"bytes"
	"io"
	"iter"
	"text/tabwriter"
	"unicode/utf8"
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

// WriteTable writes data, lines of tab-separated cells, aligned as
// NewTabWriter(out, minwidth, 1, padding) aligns them. When every line
// ends in '\n' and has as many cells as the others, and no byte is one
// text/tabwriter treats specially besides '\t' and '\n' ('\v', '\f', its
// escape 0xff), each column's width is its widest cell plus padding (at
// least minwidth), which is what text/tabwriter computes then: that is
// done here in two passes over data, into one buffer, without the
// per-cell bookkeeping and allocations of text/tabwriter (for a 200-row
// `ps`, more than formatting the rows). Anything else goes through
// text/tabwriter.
func WriteTable(out io.Writer, data []byte, minwidth, padding int) error {
	widths, ok := columnWidths(data, minwidth, padding)
	if !ok {
		tw := NewTabWriter(out, minwidth, 1, padding)
		tw.Write(data)
		return tw.Flush()
	}
	if len(data) == 0 {
		return nil
	}
	buf := make([]byte, 0, len(data)+len(data)/2)
	for line := range lines(data) {
		col := 0
		for cell := range bytes.SplitSeq(line, tab) {
			buf = append(buf, cell...)
			if col < len(widths) {
				for pad := widths[col] - utf8.RuneCount(cell); pad > 0; pad-- {
					buf = append(buf, ' ')
				}
			}
			col++
		}
		buf = append(buf, '\n')
	}
	_, err := out.Write(buf)
	return err
}

var tab = []byte{'\t'}

// hasTabwriterControl reports whether data holds a byte text/tabwriter
// treats specially besides '\t' and '\n'. (bytes.ContainsAny with the
// three would decode data rune by rune: "\xff" is not ASCII.)
func hasTabwriterControl(data []byte) bool {
	return bytes.IndexByte(data, '\v') >= 0 || bytes.IndexByte(data, '\f') >= 0 || bytes.IndexByte(data, 0xff) >= 0
}

// lines are data's '\n'-terminated lines, without the '\n'.
func lines(data []byte) iter.Seq[[]byte] {
	return bytes.SplitSeq(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
}

// columnWidths is the width of each column of data (every cell but each
// line's last), or false if data is not a table WriteTable aligns itself.
func columnWidths(data []byte, minwidth, padding int) (widths []int, ok bool) {
	if len(data) > 0 && data[len(data)-1] != '\n' || hasTabwriterControl(data) {
		return nil, false
	}
	if len(data) == 0 {
		return nil, true
	}
	cols := -1
	for line := range lines(data) {
		if cols < 0 {
			cols = bytes.Count(line, tab)
			widths = make([]int, cols)
			for i := range widths {
				widths[i] = minwidth
			}
		} else if bytes.Count(line, tab) != cols {
			return nil, false
		}
		col := 0
		for cell := range bytes.SplitSeq(line, tab) {
			if col < cols {
				widths[col] = max(widths[col], utf8.RuneCount(cell)+padding)
			}
			col++
		}
	}
	return widths, true
}
