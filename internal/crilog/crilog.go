// Package crilog owns the Kubernetes CRI container log format, the one
// kubelet and crictl read at the path a CreateContainer request names:
//
//	2016-10-06T00:17:09.669794202Z stdout F a complete line
//	2016-10-06T00:17:09.669794203Z stderr P the first part of a long line
//
// one entry a line: an RFC 3339 time with nanoseconds, the stream, a tag (F
// for the last or only piece of a line, P for a partial piece), the content
// without its newline. Rotation, tail and follow are internal/logfile's.
package crilog

import (
	"bytes"
	"context"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/logfile"
)

// Format is the CRI encoding.
var Format logfile.Format = format{}

// NewWriter opens a CRI log at path for appending; see logfile.NewWriter.
func NewWriter(path string, maxSize int64, maxFiles int, compress bool) (*logfile.Writer, error) {
	return logfile.NewWriter(Format, path, maxSize, maxFiles, compress)
}

// Read emits the entries of the CRI log at path; see logfile.Read.
func Read(ctx context.Context, path string, maxFiles int, opts logfile.ReadOptions, emit func(logfile.Entry) error) error {
	return logfile.Read(ctx, Format, path, maxFiles, opts, emit)
}

type format struct{}

func (format) Append(b []byte, e logfile.Entry) []byte { return AppendEntry(b, e) }
func (format) NewDecoder() logfile.Decoder             { return logfile.NewLineDecoder(decodeLine) }
func (format) TailOffset(f *os.File, n int) (int64, int, error) {
	return logfile.TailLines(f, n)
}

// AppendEntry encodes e as one CRI log line, newline included. A line
// that ends in "\n" is tagged F (full); anything else P (partial).
func AppendEntry(b []byte, e logfile.Entry) []byte {
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	stream := e.Stream
	if stream == "" {
		stream = "stdout"
	}
	b = append(b, stream...)
	line, tag := e.Line, " P "
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line, tag = line[:n-1], " F "
	}
	b = append(b, tag...)
	b = append(b, line...)
	return append(b, '\n')
}

// decodeLine parses one line; a malformed one (torn by a crash) is skipped.
func decodeLine(b []byte, emit func(logfile.Entry) error) error {
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return nil
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return nil
	}
	tag, content, _ := bytes.Cut(rest, []byte{' '})
	line := append([]byte(nil), content...)
	if bytes.HasPrefix(tag, []byte("F")) {
		line = append(line, '\n')
	} else if !bytes.HasPrefix(tag, []byte("P")) {
		return nil
	}
	return emit(logfile.Entry{Stream: string(stream), Line: line, Time: t})
}
