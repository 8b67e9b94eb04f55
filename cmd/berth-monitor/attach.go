package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
	"golang.org/x/sys/unix"
)

// clientQueueMax bounds the output waiting for one attach client. A client
// that falls this far behind is dropped: the container and its log never
// wait for a client.
const clientQueueMax = 1 << 20

// client is one attach connection. Output is queued by publish and written
// by the client's own goroutine.
type client struct {
	conn *net.UnixConn
	want [3]bool // by stream number

	mu     sync.Mutex
	q      [][]byte
	qlen   int
	closed bool // nothing more will be queued
	wake   chan struct{}
	done   chan struct{} // closed when the writer has finished
}

func (c *client) push(b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.qlen+len(b) > clientQueueMax {
		c.closed, c.q = true, nil
		c.conn.Close() // unblocks a writer stuck on a dead peer
		return false
	}
	c.q = append(c.q, b)
	c.qlen += len(b)
	c.signal()
	return true
}

// end lets the writer finish once the queue is written.
func (c *client) end() {
	c.mu.Lock()
	c.closed = true
	c.signal()
	c.mu.Unlock()
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) writeLoop() {
	defer close(c.done)
	defer c.conn.Close()
	for {
		c.mu.Lock()
		q, closed := c.q, c.closed
		c.q, c.qlen = nil, 0
		c.mu.Unlock()
		if len(q) > 0 {
			bufs := net.Buffers(q)
			if _, err := bufs.WriteTo(c.conn); err != nil {
				c.mu.Lock()
				c.closed, c.q = true, nil
				c.mu.Unlock()
				return
			}
			continue
		}
		if closed {
			return
		}
		<-c.wake
	}
}

func (m *mon) serveAttach() {
	for {
		c, err := m.attachL.AcceptUnix()
		if err != nil {
			return
		}
		go m.handleAttach(c)
	}
}

func (m *mon) handleAttach(conn *net.UnixConn) {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(conn)
	if err != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	var o monitor.AttachOptions
	if err := json.Unmarshal(line, &o); err != nil {
		reply(conn, monitor.CtlReply{Error: "bad attach request: " + err.Error()})
		conn.Close()
		return
	}
	// Register before acknowledging: output produced after the client's
	// Attach returned reaches it.
	c, ok := m.register(conn, o)
	if err := reply(conn, monitor.CtlReply{}); err != nil || !ok {
		m.dropClient(c)
		conn.Close()
		return
	}
	m.serveClient(c, o)
}

// register adds an attach client for the streams o selects; false when the
// monitor is finishing and takes no more.
func (m *mon) register(conn *net.UnixConn, o monitor.AttachOptions) (*client, bool) {
	c := &client{conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.want[monitor.StreamStdout], c.want[monitor.StreamStderr] = o.Stdout, o.Stderr
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return c, false
	}
	m.clients[c] = struct{}{}
	return c, true
}

// serveClient writes output to a registered client and passes what it
// sends to the container's stdin, until it hangs up.
func (m *mon) serveClient(c *client, o monitor.AttachOptions) {
	conn := c.conn
	go c.writeLoop()

	stdin := o.Stdin && m.cfg.OpenStdin && m.stdinW != nil
	buf := make([]byte, 4096)
	if !stdin {
		buf = buf[:64]
	}
	for {
		n, err := conn.Read(buf)
		if n > 0 && stdin {
			m.writeStdin(buf[:n])
		}
		if err == io.EOF {
			// The client is done sending (CloseWrite or close): it may
			// still read output.
			if stdin && m.cfg.StdinOnce {
				m.closeStdin()
			}
			return
		}
		if err != nil {
			m.dropClient(c)
			return
		}
	}
}

// takeHandoff takes the n attach connections handed over at launch
// (monitor.FirstAttachFd on), closed on exec so that neither the runtime
// nor the container inherits them.
func takeHandoff(n int) []*os.File {
	var fs []*os.File
	for i := 0; i < n; i++ {
		fd := monitor.FirstAttachFd + i
		unix.CloseOnExec(fd)
		fs = append(fs, os.NewFile(uintptr(fd), "attach"))
	}
	return fs
}

// adoptHandoff registers the attach connections handed over at launch; it
// runs before output is read, so they miss none of it.
func (m *mon) adoptHandoff() {
	for i, f := range m.handoff {
		fc, err := net.FileConn(f) // dups f
		f.Close()
		conn, ok := fc.(*net.UnixConn)
		if err != nil || !ok || i >= len(m.cfg.Attach) {
			fmt.Fprintln(os.Stderr, "berth-monitor: attach connection handed over:", err)
			if fc != nil {
				fc.Close()
			}
			continue
		}
		o := m.cfg.Attach[i]
		if c, ok := m.register(conn, o); ok {
			go m.serveClient(c, o)
		} else {
			conn.Close()
		}
	}
	m.handoff = nil
}

func (m *mon) dropClient(c *client) {
	m.mu.Lock()
	delete(m.clients, c)
	m.mu.Unlock()
	c.end()
}

func reply(conn *net.UnixConn, v any) error {
	b, _ := json.Marshal(v)
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Write(append(b, '\n'))
	conn.SetWriteDeadline(time.Time{})
	return err
}

// readLine reads one request line byte by byte: after an attach header the
// connection carries stdin, which must not be consumed here.
func readLine(conn *net.UnixConn) ([]byte, error) {
	var line []byte
	var b [1]byte
	for len(line) < 4096 {
		n, err := conn.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			line = append(line, b[0])
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, io.ErrShortBuffer
}
