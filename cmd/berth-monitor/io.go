package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
)

var streamNames = [3]string{"", "stdout", "stderr"}

// startIO starts one reader per output stream. Each chunk goes to the log
// and to the attached clients; nothing here waits on a client.
func (m *mon) startIO() {
	for s, f := range m.outs {
		if f != nil {
			m.pumps.Add(1)
			go m.pump(s, f)
		}
	}
}

func (m *mon) pump(stream int, f *os.File) {
	defer m.pumps.Done()
	name := streamNames[stream]
	buf := make([]byte, 16*1024)
	logFailed := false
	out := func(p []byte) {
		if m.log != nil {
			if err := m.log.Write(name, p, time.Now()); err != nil && !logFailed {
				logFailed = true // say it once; keep serving attach
				fmt.Fprintln(os.Stderr, "berth-monitor: write container log:", err)
			}
		}
		m.publish(stream, p)
	}
	for {
		// A pty master reads EIO once the last slave is closed: that is its
		// EOF.
		n, err := f.Read(buf)
		if n > 0 {
			out(buf[:n])
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// finish gave up waiting for the end of the stream (a
				// process the init left behind holds it): take what is
				// already there, all the init wrote among it.
				monitor.DrainAvailable(f, buf, out)
			}
			break
		}
	}
	if m.log != nil {
		m.log.Flush(name)
	}
}

// publish hands a chunk to every client that asked for its stream, framed
// like Docker's stdcopy unless the container has a TTY. Clients share the
// frame; they never modify it.
func (m *mon) publish(stream int, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.clients) == 0 {
		return
	}
	var frame []byte
	if m.cfg.Tty {
		frame = append([]byte(nil), p...)
	} else {
		frame = make([]byte, 8+len(p))
		frame[0] = byte(stream)
		binary.BigEndian.PutUint32(frame[4:], uint32(len(p)))
		copy(frame[8:], p)
	}
	for c := range m.clients {
		if c.want[stream] && !c.push(frame) {
			delete(m.clients, c)
		}
	}
}

func (m *mon) writeStdin(p []byte) error {
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	if m.stdinW == nil || m.stdinClosed {
		return os.ErrClosed
	}
	_, err := m.stdinW.Write(p)
	return err
}

// closeStdin gives the container EOF on a stdin pipe. With a TTY there is
// nothing to close (the pty stays), as with Docker.
func (m *mon) closeStdin() {
	if m.pty != nil {
		return
	}
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	if m.stdinW != nil && !m.stdinClosed {
		m.stdinW.Close()
		m.stdinClosed = true
	}
}

func (m *mon) resize(h, w uint16) error {
	if m.pty == nil {
		return fmt.Errorf("container %s has no TTY to resize", shortID(m.cfg.ID))
	}
	rc, err := m.pty.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: h, Col: w})
	}); err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("resize TTY: %w", ierr)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
