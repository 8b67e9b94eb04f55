package e2e

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Malformed requests get 400 (Docker's status) and never take the daemon down.
func TestMalformedRequests(t *testing.T) {
	d := sharedDaemon(t, "core")
	b := d.Berth()
	name := uniq("target")
	id := b.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "1d")
	const js = "application/json"
	for _, tc := range []struct {
		method, path, ctype, body string
		want                      int
	}{
		{"POST", "/containers/create", js, "{bad json", 400},
		{"POST", "/containers/create", js, `{"Image": 5}`, 400},
		{"POST", "/containers/create", js, "", 400},
		{"POST", "/containers/create?name=bad%20name!", js, `{"Image":"busybox"}`, 400},
		{"POST", "/containers/create", js, `{"Image":"busybox","HostConfig":{"Memory":"lots"}}`, 400},
		{"POST", "/containers/" + id + "/exec", js, "{not json", 400},
		{"POST", "/containers/" + id + "/exec", js, `{"Cmd":[]}`, 400},
		{"POST", "/exec/" + id + "/start", js, "{not json", 400},
		{"POST", "/containers/" + id + "/kill?signal=NOPE", "", "", 400},
		{"POST", "/containers/" + id + "/wait?condition=bogus", "", "", 400},
		{"POST", "/containers/" + id + "/stop?t=soon", "", "", 400},
		{"GET", "/containers/json?filters=notjson", "", "", 400},
		{"GET", "/containers/json?filters=" + `{"nosuchfilter":["x"]}`, "", "", 400},
		{"GET", "/containers/" + id + "/logs", "", "", 400}, // neither stdout nor stderr chosen
		{"POST", "/containers/" + id + "/resize?h=abc&w=1", "", "", 400},
	} {
		status, _, body := d.API(t, tc.method, tc.path, tc.ctype, tc.body)
		if status != tc.want {
			t.Errorf("%s %s body %q: HTTP %d %q, want %d", tc.method, tc.path, tc.body, status, body, tc.want)
		}
		if st, _, _ := d.API(t, "GET", "/_ping", "", ""); st != 200 {
			t.Fatalf("after %s %s: /_ping HTTP %d: the daemon stopped serving", tc.method, tc.path, st)
		}
	}
	if st := b.Must(t, "inspect", "--format", "{{.State.Status}}", id); st != "running" {
		t.Errorf("target container after bad requests: %q, want running", st)
	}
	b.Must(t, "rm", "-f", id)
}

// Clients that hang up in the middle of a hijacked attach stream must not
// hurt the container, its log, or the daemon.
func TestAttachClientDisconnects(t *testing.T) {
	d := sharedDaemon(t, "core")
	b := d.Berth()
	name := uniq("chatty")
	b.Must(t, "run", "-d", "--name", name, "busybox", "sh", "-c", "while true; do echo tick; sleep 0.05; done")
	for i := 0; i < 5; i++ {
		conn, err := net.Dial("unix", d.Sock)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "POST /v1.47/containers/"+name+"/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"+
			"Host: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n")
		r := bufio.NewReader(conn)
		status, err := r.ReadString('\n')
		if err != nil || !strings.Contains(status, "101") {
			conn.Close()
			t.Fatalf("attach: status line %q (%v), want 101 Switching Protocols", status, err)
		}
		// Skip headers, read a little of the stream, then vanish.
		for {
			l, err := r.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		buf := make([]byte, 64)
		if _, err := io.ReadAtLeast(r, buf, 16); err != nil {
			t.Errorf("attach stream gave no output: %v", err)
		}
		conn.Close()
	}
	if st := b.Must(t, "inspect", "--format", "{{.State.Status}}", name); st != "running" {
		t.Fatalf("after clients vanished mid-attach: %q, want running", st)
	}
	before := len(b.Must(t, "logs", name))
	eventually(t, 5*time.Second, func() error {
		if len(b.Must(t, "logs", name)) <= before {
			return io.ErrNoProgress
		}
		return nil
	})
	b.Must(t, "exec", name, "true")
	b.Must(t, "rm", "-f", name)
}
