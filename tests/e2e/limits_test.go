package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawRequest writes head and body on a new connection to d (the body from a
// goroutine, so a server that answers early is still read) and returns the
// response's status and body.
func rawRequest(t *testing.T, d *Daemon, head string, body io.Reader) (int, string) {
	t.Helper()
	c, err := net.Dial("unix", d.Sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second)) // a failure bound only
	go func() {
		io.WriteString(c, head)
		if body != nil {
			io.Copy(c, body)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: no response: %v", strings.SplitN(head, "\r\n", 2)[0], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// procKB reads a "VmRSS"/"VmHWM" line of /proc/<pid>/status, in KiB.
func procKB(t *testing.T, pid int, key string) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// hugeCmd is a create body whose Cmd holds n one-character strings: the
// memory-amplification request of issue 10.5 (13 MiB, 3.5 million strings).
func hugeCmd(n int) string {
	return `{"Image":"busybox","Cmd":[` + strings.Repeat(`"a",`, n) + `"a"]}`
}

// TestRequestLimits: oversized JSON is refused with a 4xx naming the limit
// before it is decoded (berthd's peak RSS stays bounded: four 13 MiB
// creates at once took it to 1.65 GB), a create whose Cmd the kernel could
// never exec is a 400, a stalled body is cut after the configured timeout,
// and slow clients do not keep /_ping from answering.
func TestRequestLimits(t *testing.T) {
	d := newStoppedDaemon(t)
	var cfg map[string]any
	data, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(data, &cfg)
	cfg["api-limits"] = map[string]any{"body-timeout": "3s", "max-connections": 32, "reserve-connections": 4}
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(d.Config, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	pid := d.Pid()
	rss0, hwm0 := procKB(t, pid, "VmRSS"), procKB(t, pid, "VmHWM")

	body := hugeCmd(3500000) // 14 MB
	// Built before any request starts, so a loaded machine does not stall
	// a body past the (short, test-only) body timeout.
	chunkedBody := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(chunked bool) {
			defer wg.Done()
			head := "POST /v1.47/containers/create HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n"
			var r io.Reader = strings.NewReader(body)
			if chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n"
				r = strings.NewReader(chunkedBody)
			} else {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))
			}
			code, msg := rawRequest(t, d, head, r)
			if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "4 MiB") {
				t.Errorf("a 14 MB create (chunked=%v) answered %d %s, want 413 naming the 4 MiB limit", chunked, code, msg)
			}
		}(i%2 == 1)
	}
	wg.Wait()

	// Under the body cap but beyond what exec could take.
	code, _, msg := d.API(t, "POST", "/containers/create", "application/json", hugeCmd(800000))
	if code != http.StatusBadRequest || !strings.Contains(msg, "ARG_MAX") {
		t.Errorf("a create with 800k arguments answered %d %s, want 400 naming ARG_MAX", code, msg)
	}
	rss1, hwm1 := procKB(t, pid, "VmRSS"), procKB(t, pid, "VmHWM")
	t.Logf("berthd RSS %d -> %d KiB, peak %d -> %d KiB after 4 x 14 MB and one 3.2 MB hostile create", rss0, rss1, hwm0, hwm1)
	if hwm1-hwm0 > 150<<10 {
		t.Errorf("berthd's peak RSS grew by %d MiB on refused requests, want < 150 MiB", (hwm1-hwm0)>>10)
	}

	// Slow clients: bodies that never come, headers that never end.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 60; i++ {
		c, err := net.Dial("unix", d.Sock)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: berth\r\nContent-Length: 1000000\r\n\r\nabc")
		} else {
			fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: berth\r\n")
		}
	}
	for i := 0; i < 10; i++ {
		if code, _, _ := d.API(t, "GET", "/_ping", "", ""); code != 200 {
			t.Fatalf("ping %d among 60 slow clients: %d", i, code)
		}
	}
	// A stalled body is cut after body-timeout (3s here).
	code, msg = rawRequest(t, d, "POST /v1.47/containers/create HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", strings.NewReader(`{"Image":`))
	if code != http.StatusBadRequest || !strings.Contains(msg, "no progress") {
		t.Errorf("a stalled create body answered %d %s, want 400 naming the body timeout", code, msg)
	}
	if !d.Running() {
		t.Fatal("berthd died")
	}
}
