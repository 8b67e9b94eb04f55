package monitor

import (
	"errors"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// RecvConsole accepts the OCI runtime's connection on a --console-socket
// listener and returns the pty master it sends with SCM_RIGHTS, set
// non-blocking so it joins Go's poller.
func RecvConsole(l *net.UnixListener) (*os.File, error) {
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) == 0 {
		return nil, errors.New("no file descriptor in the console socket message")
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	fd := fds[0]
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "ptmx"), nil
}

// SetWinsize sets the size of the terminal behind the pty master f.
func SetWinsize(f *os.File, height, width uint16) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: height, Col: width})
	}); err != nil {
		return err
	}
	return serr
}

// DrainAvailable passes to fn, chunk by chunk, whatever f holds right now
// and returns once a read would block, f reports its end (EOF, or EIO on a
// pty master whose slaves are all closed) or fails. It is how a stream ends
// after its process exited: a blocked Read is interrupted (a past read
// deadline) without losing data, then this takes what is left. On a pty
// the kernel pushes the slave's pending writes through before it answers
// "would block", so nothing written before the exit is missed. It clears
// f's read deadline.
func DrainAvailable(f *os.File, buf []byte, fn func([]byte)) error {
	f.SetReadDeadline(time.Time{})
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	for {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, rerr = unix.Read(int(fd), buf)
				if rerr != unix.EINTR {
					return true // never wait for more
				}
			}
		})
		if err != nil {
			return err
		}
		if n > 0 {
			fn(buf[:n])
			continue
		}
		switch rerr {
		case nil, unix.EAGAIN, unix.EIO:
			return nil
		}
		return rerr
	}
}
