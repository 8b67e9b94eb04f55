// Package streams wraps the CLI's stdin/stdout with what attach, exec and run
// need from a terminal: detection, raw mode and restoring it, and the size.
package streams

import (
	"errors"
	"io"
	"os"

	"github.com/moby/term"
)

// In is the CLI's standard input. Callers may rely on RestoreTerminal being
// safe to call when SetRawTerminal was never called.
type In struct {
	io.ReadCloser
	fd     uintptr
	isTerm bool
	state  *term.State
}

// NewIn wraps r, detecting whether it is a terminal.
func NewIn(r io.ReadCloser) *In {
	fd, isTerm := term.GetFdInfo(r)
	return &In{ReadCloser: r, fd: fd, isTerm: isTerm}
}

// FD returns the file descriptor of the stream (meaningful only for terminals).
func (i *In) FD() uintptr { return i.fd }

// IsTerminal reports whether the stream is a terminal.
func (i *In) IsTerminal() bool { return i.isTerm }

// SetRawTerminal puts the terminal in raw mode so keystrokes (and the detach
// sequence) go to the container unprocessed. NORAW in the environment
// disables it, as in docker.
func (i *In) SetRawTerminal() error {
	if !i.isTerm || os.Getenv("NORAW") != "" {
		return nil
	}
	st, err := term.SetRawTerminal(i.fd)
	if err != nil {
		return err
	}
	i.state = st
	return nil
}

// RestoreTerminal undoes SetRawTerminal.
func (i *In) RestoreTerminal() {
	if i.state != nil {
		_ = term.RestoreTerminal(i.fd, i.state)
		i.state = nil
	}
}

// CheckTty returns docker's error when a TTY is requested with stdin attached
// but stdin is not a terminal.
func (i *In) CheckTty(attachStdin, ttyMode bool) error {
	if ttyMode && attachStdin && !i.isTerm {
		return errors.New("the input device is not a TTY")
	}
	return nil
}

// Out is the CLI's standard output (or error).
type Out struct {
	io.Writer
	fd     uintptr
	isTerm bool
}

// NewOut wraps w, detecting whether it is a terminal.
func NewOut(w io.Writer) *Out {
	fd, isTerm := term.GetFdInfo(w)
	return &Out{Writer: w, fd: fd, isTerm: isTerm}
}

// FD returns the file descriptor of the stream.
func (o *Out) FD() uintptr { return o.fd }

// IsTerminal reports whether the stream is a terminal.
func (o *Out) IsTerminal() bool { return o.isTerm }

// GetTtySize returns height and width, or 0,0 when not a terminal.
func (o *Out) GetTtySize() (height, width uint) {
	if !o.isTerm {
		return 0, 0
	}
	ws, err := term.GetWinsize(o.fd)
	if err != nil || ws == nil {
		return 0, 0
	}
	return uint(ws.Height), uint(ws.Width)
}
