package main

import (
	"encoding/json"
	"net"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
)

func (m *mon) serveCtl() {
	defer close(m.ctlDone)
	for {
		c, err := m.ctlL.AcceptUnix()
		if err != nil {
			return
		}
		m.ctlWG.Add(1)
		go m.handleCtl(c)
	}
}

func (m *mon) handleCtl(conn *net.UnixConn) {
	defer m.ctlWG.Done()
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := readLine(conn)
	if err != nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	var req monitor.CtlRequest
	if err := json.Unmarshal(line, &req); err != nil {
		reply(conn, monitor.CtlReply{Error: "bad request: " + err.Error()})
		return
	}
	var rep any = monitor.CtlReply{}
	switch req.Op {
	case "ping":
		rep = monitor.CtlReply{Pid: m.initPid}
	case "resize":
		if err := m.resize(req.Height, req.Width); err != nil {
			rep = monitor.CtlReply{Error: err.Error()}
		}
	case "closeStdin":
		m.closeStdin()
	case "start":
		if err := m.startContainer(); err != nil {
			if err != errAlreadyStarted {
				// As after a failed start by hand: nothing of the
				// container stays; the monitor finishes once its init
				// is gone.
				m.deleteContainer()
			}
			rep = monitor.CtlReply{Error: err.Error()}
		}
	case "reopenLog":
		if r, ok := m.log.(interface{ Reopen() error }); ok {
			if err := r.Reopen(); err != nil {
				rep = monitor.CtlReply{Error: err.Error()}
			}
		} else {
			rep = monitor.CtlReply{Error: "the container's log driver writes no file to reopen"}
		}
	case "wait":
		// Notice a caller that hangs up, so its handler does not linger
		// until the container exits.
		gone := make(chan struct{})
		go func() {
			var b [1]byte
			conn.Read(b[:])
			close(gone)
		}()
		select {
		case <-m.exited:
			rep = m.status
		case <-gone:
			return
		}
	default:
		rep = monitor.CtlReply{Error: "unknown op " + req.Op}
	}
	reply(conn, rep)
}
