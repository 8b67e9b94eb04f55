package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// livePidfile refuses a pid file that names a live berthd other than this
// process; a stale one (dead or reused pid) is fine.
func livePidfile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || pid == os.Getpid() || unix.Kill(pid, 0) != nil {
		return nil
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "berthd" {
		return fmt.Errorf("pid file %s names a running berthd (pid %d): stop it first, or give this one its own --pidfile, -H, --data-root and --exec-root", path, pid)
	}
	return nil
}

// checkNotRunning refuses to start over a live daemon: one named by the
// pid file, or one answering on a unix socket this daemon would listen on
// (listen replaces the socket file, which would leave the other daemon
// running but unreachable, and remove the file again at exit). A socket
// file nothing answers on is stale and is replaced.
func checkNotRunning(cfg *Config) error {
	if err := livePidfile(cfg.Pidfile); err != nil {
		return err
	}
	for _, h := range cfg.Hosts {
		ha, err := cfg.parseHost(h)
		if err != nil {
			return err
		}
		if ha.proto != "unix" {
			continue
		}
		fi, err := os.Lstat(ha.addr)
		if err != nil {
			continue
		}
		if fi.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("-H %s: %s exists and is not a socket; berthd will not replace it", h, ha.addr)
		}
		if answering(ha.addr) {
			return fmt.Errorf("-H %s: a daemon is already answering on %s (another berthd?); stop it first or choose another socket", h, ha.addr)
		}
	}
	return nil
}

// answerWait bounds how long answering waits for a socket that accepts
// connections but answers nothing.
var answerWait = 5 * time.Second

// answering reports whether a server answers on the unix socket addr. A
// connection alone does not tell: the listening socket of a daemon killed
// a moment ago lives on in a child it was forking (between fork and exec the
// child holds a copy of every descriptor), and the kernel completes
// connections to it though nobody will ever accept them. So a server must
// answer an HTTP request (berthd, dockerd and any API server do); a socket
// that takes connections but answers nothing is asked again until
// answerWait has passed, and only then counted as a live daemon.
func answering(addr string) bool {
	deadline := time.Now().Add(answerWait)
	for {
		c, err := net.DialTimeout("unix", addr, 2*time.Second)
		if err != nil {
			return false
		}
		c.SetDeadline(time.Now().Add(time.Second))
		_, err = c.Write([]byte("GET /_ping HTTP/1.0\r\nHost: berthd\r\n\r\n"))
		var b [1]byte
		if err == nil {
			_, err = c.Read(b[:])
		}
		c.Close()
		if err == nil || time.Now().After(deadline) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writePidfile(path string) error {
	if err := livePidfile(path); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}
