package streams

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/berth-dev/berth/cli/client"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/term"
)

// DefaultEscapeKeys is ctrl-p,ctrl-q, docker's default detach sequence.
var DefaultEscapeKeys = []byte{16, 17}

// HijackedIO copies between the local streams and a hijacked attach/exec
// connection, the way docker's hijackedIOStreamer does.
type HijackedIO struct {
	In         *In       // local stdin, nil when not attached
	Out        io.Writer // where container stdout goes, nil when not attached
	Err        io.Writer // where container stderr goes, nil when not attached
	Resp       client.HijackedResponse
	Tty        bool
	DetachKeys string
}

// Stream runs until output ends, input ends and output drains, the detach
// sequence is typed (returns term.EscapeError), or ctx is done. The local
// terminal is put in raw mode for the duration when Tty and In is set, and is
// always restored before Stream returns.
func (h *HijackedIO) Stream(ctx context.Context) error {
	var input io.Reader
	restore := func() {}
	if h.In != nil {
		input = h.In
		if h.Tty {
			if err := h.In.SetRawTerminal(); err != nil {
				return err
			}
			var once sync.Once
			restore = func() { once.Do(h.In.RestoreTerminal) }
			keys := DefaultEscapeKeys
			if h.DetachKeys != "" {
				if k, err := term.ToBytes(h.DetachKeys); err == nil {
					keys = k
				}
			}
			input = term.NewEscapeProxy(h.In, keys)
		}
	}
	defer restore()

	outputDone := make(chan error, 1)
	go func() {
		var err error
		if h.Tty {
			if h.Out != nil {
				_, err = io.Copy(h.Out, h.Resp.Reader)
			} else {
				_, err = io.Copy(io.Discard, h.Resp.Reader)
			}
			restore()
		} else {
			_, err = stdcopy.StdCopy(orDiscard(h.Out), orDiscard(h.Err), h.Resp.Reader)
		}
		outputDone <- err
	}()

	inputDone := make(chan struct{})
	detached := make(chan error, 1)
	go func() {
		if input != nil {
			_, err := io.Copy(h.Resp.Conn, input)
			restore()
			var esc term.EscapeError
			if errors.As(err, &esc) {
				detached <- err
				return
			}
		}
		_ = h.Resp.CloseWrite()
		close(inputDone)
	}()

	select {
	case err := <-outputDone:
		return err
	case <-inputDone:
		if h.Out != nil || h.Err != nil {
			select {
			case err := <-outputDone:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	case err := <-detached:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// IsDetach reports whether err means the user typed the detach sequence.
func IsDetach(err error) bool {
	var esc term.EscapeError
	return errors.As(err, &esc)
}
