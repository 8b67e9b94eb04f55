package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Wait blocks until the container has exited and returns its status. It
// works from any process, across berthd restarts: it asks the monitor over
// ctl.sock and, if the monitor is gone (or dies while waiting), falls back to
// the recorded exit.json. Without either it returns ErrNoMonitor.
func Wait(ctx context.Context, stateDir string) (ExitStatus, error) {
	var rep CtlReply
	err := call(ctx, stateDir, CtlRequest{Op: "wait"}, &rep)
	if err == nil {
		if rep.ExitStatus == nil {
			return ExitStatus{}, errors.New("container monitor sent no exit status")
		}
		return *rep.ExitStatus, nil
	}
	if ctx.Err() != nil {
		return ExitStatus{}, ctx.Err()
	}
	var re *replyError
	if errors.As(err, &re) {
		return ExitStatus{}, err
	}
	st, rerr := ReadExit(stateDir)
	if rerr != nil {
		if errors.Is(rerr, os.ErrNotExist) {
			return ExitStatus{}, ErrNoMonitor
		}
		return ExitStatus{}, rerr
	}
	return *st, nil
}

// StartContainer has the monitor start the container's process (the
// runtime's start verb) and returns once it did. The monitor runs it, not
// the caller, so that it never deletes the container after its exit while
// the runtime's start is still at work (runc's start failed with "remove
// exec.fifo: no such file or directory" when a short-lived container was
// deleted first). A failure of the runtime's own is a *RuntimeError; the
// monitor then deletes the container and finishes as after an exit.
func StartContainer(ctx context.Context, stateDir string) error {
	err := call(ctx, stateDir, CtlRequest{Op: "start"}, &CtlReply{})
	var re *replyError
	if errors.As(err, &re) {
		return &RuntimeError{Op: "start", Msg: re.msg, ExitCode: -1}
	}
	return err
}

// Ping returns the container init's pid if the monitor answers.
func Ping(ctx context.Context, stateDir string) (initPid int, err error) {
	var rep CtlReply
	if err := call(ctx, stateDir, CtlRequest{Op: "ping"}, &rep); err != nil {
		return 0, err
	}
	return rep.Pid, nil
}

// Resize sets the container's TTY size. It fails for a container without a
// TTY.
func Resize(ctx context.Context, stateDir string, height, width uint16) error {
	return call(ctx, stateDir, CtlRequest{Op: "resize", Height: height, Width: width}, &CtlReply{})
}

// ReopenLog makes the monitor open the container's log file again (the
// CRI's ReopenContainerLog, after kubelet renamed it to rotate it).
func ReopenLog(ctx context.Context, stateDir string) error {
	return call(ctx, stateDir, CtlRequest{Op: "reopenLog"}, &CtlReply{})
}

// CloseStdin closes the container's stdin pipe, so it reads EOF. With a TTY
// it does nothing (as with Docker).
func CloseStdin(ctx context.Context, stateDir string) error {
	return call(ctx, stateDir, CtlRequest{Op: "closeStdin"}, &CtlReply{})
}

// Attach connects to the container's streams. The returned connection yields
// output from now on (multiplexed frames without a TTY: 8-byte header
// [stream, 0, 0, 0, uint32 BE length] then payload; raw bytes with a TTY) and
// takes stdin bytes; CloseWrite on it is stdin EOF. It ends after the
// container exited and all its output was sent. The caller closes it.
func Attach(ctx context.Context, stateDir string, o AttachOptions) (*net.UnixConn, error) {
	c, err := dial(ctx, stateDir, AttachSocket)
	if err != nil {
		return nil, err
	}
	stop := deadlineFromContext(ctx, c)
	err = func() error {
		b, _ := json.Marshal(o)
		if _, err := c.Write(append(b, '\n')); err != nil {
			return err
		}
		line, err := readAck(c)
		if err != nil {
			return err
		}
		var rep CtlReply
		if err := json.Unmarshal(line, &rep); err != nil {
			return err
		}
		if rep.Error != "" {
			return &replyError{rep.Error}
		}
		return nil
	}()
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("attach to container: %w", err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// replyError is an error the monitor answered with.
type replyError struct{ msg string }

func (e *replyError) Error() string { return e.msg }

func call(ctx context.Context, stateDir string, req CtlRequest, rep any) error {
	c, err := dial(ctx, stateDir, CtlSocket)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := deadlineFromContext(ctx, c)
	defer stop()
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("container monitor: %w", err)
	}
	line, err := readLine(c, 512)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("container monitor: %w", err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return fmt.Errorf("container monitor: bad reply: %w", err)
	}
	if e.Error != "" {
		return &replyError{e.Error}
	}
	return json.Unmarshal(line, rep)
}

// deadlineFromContext makes c's pending I/O fail when ctx ends; the returned
// stop reports false if that already happened.
func deadlineFromContext(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

// ackOK is the attach ack of a registered client.
const ackOK = "{}\n"

// readAck reads the attach ack line (without its newline). What follows
// it is output and must stay in the connection for the caller: the ack
// of a registered client is read whole in one read of its length, and
// only an error reply, after which the monitor sends nothing, further.
func readAck(c net.Conn) ([]byte, error) {
	b := make([]byte, len(ackOK))
	if _, err := io.ReadFull(c, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], nil
	}
	rest, err := readLine(c, 512)
	return append(b, rest...), err
}

// readLine reads one reply line (without its newline) in reads of up to
// chunk bytes: where nothing follows the line (a ctl reply, e.g. the
// exit status) one read instead of one per byte.
func readLine(c net.Conn, chunk int) ([]byte, error) {
	var line []byte
	b := make([]byte, chunk)
	for len(line) < 64*1024 {
		n, err := c.Read(b)
		if i := bytes.IndexByte(b[:n], '\n'); i >= 0 {
			return append(line, b[:i]...), nil
		}
		line = append(line, b[:n]...)
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("reply line too long")
}

// dial connects to a socket in stateDir. Paths longer than a sockaddr_un
// holds are reached through /proc/self/fd of the opened directory.
func dial(ctx context.Context, stateDir, name string) (*net.UnixConn, error) {
	path := filepath.Join(stateDir, name)
	if len(path) >= 108 {
		fd, err := unix.Open(stateDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("container monitor: %w", err)
		}
		defer unix.Close(fd)
		path = "/proc/self/fd/" + strconv.Itoa(fd) + "/" + name
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (%s)", ErrNoMonitor, err)
		}
		return nil, fmt.Errorf("container monitor: %w", err)
	}
	return c.(*net.UnixConn), nil
}
