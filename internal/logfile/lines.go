package logfile

import (
	"bytes"
	"io"
	"os"
)

// LineDecoder is a Decoder for formats that encode one entry a line
// (json-file, CRI): it splits the stream at newlines, keeps an incomplete
// last line for the next Feed and hands each complete line to decode.
type LineDecoder struct {
	partial []byte
	decode  func(line []byte, emit func(Entry) error) error
}

// NewLineDecoder returns a LineDecoder that decodes each line with decode.
func NewLineDecoder(decode func(line []byte, emit func(Entry) error) error) *LineDecoder {
	return &LineDecoder{decode: decode}
}

// Reset drops a kept incomplete line.
func (d *LineDecoder) Reset() { d.partial = d.partial[:0] }

// Feed decodes every line completed by p.
func (d *LineDecoder) Feed(p []byte, emit func(Entry) error) error {
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
		err := d.decode(line, emit)
		d.partial = d.partial[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// TailLines returns the offset in f where its last n lines begin, and how
// many lines (<= n) were found. It reads backwards, so a small tail of a
// large file costs little.
func TailLines(f *os.File, n int) (int64, int, error) {
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
