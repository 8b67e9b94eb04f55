package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serveLimited serves a handler that reads the whole body of every request
// (as /build does) and answers /_ping, within lim.
func serveLimited(t *testing.T, lim ServeLimits) string {
	addr, _ := serveLimitedL(t, lim)
	return addr
}

func serveLimitedL(t *testing.T, lim ServeLimits) (string, *connLimiter) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /_ping", s.ping)
	s.handle("POST /build", func(w http.ResponseWriter, r *http.Request) error {
		if _, err := io.ReadAll(r.Body); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]string{})
	})
	srv, ll := NewHTTPServer(s, l, lim, context.Background())
	go srv.Serve(ll)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), ll.(*connLimiter)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestSlowClientsDoNotStarvePing: connections that send a body slowly (or
// nothing at all) fill every normal slot; /_ping still answers, through
// the reserve or by evicting a connection that never sent its headers.
func TestSlowClientsDoNotStarvePing(t *testing.T) {
	addr, cl := serveLimitedL(t, ServeLimits{MaxConns: 8, Reserve: 2, HeaderTimeout: time.Minute, IdleTimeout: time.Minute, BodyTimeout: time.Minute})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 40; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		switch i % 2 {
		case 0: // a body that never comes
			fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
		case 1: // headers that never end
			fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: x\r\n")
		}
	}
	for i := 0; i < 20; i++ {
		if err := ping(addr); err != nil {
			t.Fatalf("ping %d during the flood: %v", i, err)
		}
	}
	cl.mu.Lock()
	held := len(cl.conns)
	cl.mu.Unlock()
	if held > 10 {
		t.Errorf("berthd holds %d connections for 40 slow clients, the cap is 8 + 2", held)
	}
}

// TestStalledBodyIsCut: a body that stops arriving ends the request with an
// error naming the timeout, instead of holding the connection forever.
func TestStalledBodyIsCut(t *testing.T) {
	addr := serveLimited(t, ServeLimits{MaxConns: 8, Reserve: 2, HeaderTimeout: time.Minute, IdleTimeout: time.Minute, BodyTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a failure bound, not a measurement
	fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "no progress") {
		t.Fatalf("got %d %s, want 400 naming the body timeout", resp.StatusCode, body)
	}
}

// TestSlowButMovingBodyIsNotCut: the timeout is for no progress, not for
// the whole body. The body takes longer than the timeout; each gap is a
// twentieth of it, so a loaded machine's scheduling delays (a 300 ms
// timeout with 100 ms gaps was cut 4 times in 100 under load) do not turn
// a gap into a stall.
func TestSlowButMovingBodyIsNotCut(t *testing.T) {
	addr := serveLimited(t, ServeLimits{MaxConns: 8, Reserve: 2, HeaderTimeout: time.Minute, IdleTimeout: time.Minute, BodyTimeout: 2 * time.Second})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	const n = 25 // 2.5 s at one byte per 100 ms
	fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", n)
	tick := time.NewTicker(100 * time.Millisecond) // paced writes: the client's behaviour under test
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		c.Write([]byte("x"))
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("a slow but moving body was cut: %d %s", resp.StatusCode, b)
	}
}

// TestReserveServesOnlyPing: a reserve connection gets 503 for anything
// but /_ping.
func TestReserveServesOnlyPing(t *testing.T) {
	addr := serveLimited(t, ServeLimits{MaxConns: 1, Reserve: 1, HeaderTimeout: time.Minute, IdleTimeout: time.Minute, BodyTimeout: time.Minute})
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fmt.Fprintf(busy, "POST /build HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
	// Wait until the busy request is active (its slot cannot be evicted),
	// then a second request lands in the reserve.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "POST /build HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a request beyond the limit was not refused: %v %v", resp, err)
		}
	}
	if err := ping(addr); err != nil {
		t.Fatalf("ping on the reserve: %v", err)
	}
}

// TestRefusedReserveFreesSlotAtOnce: the 503 on a reserve connection frees
// its slot before the answer is written, so a ping dialled right after
// reading it is admitted even while the server has not yet seen the close
// (the race made TestReserveServesOnlyPing fail under load).
func TestRefusedReserveFreesSlotAtOnce(t *testing.T) {
	srvSide, cliSide := net.Pipe()
	defer srvSide.Close()
	defer cliSide.Close()
	l := newConnLimiter(nil, 1, 1)
	l.normal = 1 // a busy request holds the one normal slot
	if !l.admit(srvSide) || !l.isReserved(srvSide) {
		t.Fatal("the second connection did not land in the reserve")
	}
	l.connState(srvSide, http.StateActive)
	h := l.guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a reserve request reached the handler") }))
	r := httptest.NewRequest("POST", "/build", nil)
	r = r.WithContext(context.WithValue(r.Context(), connKey, srvSide))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", rec.Code)
	}
	l.mu.Lock()
	reserved := l.reserved
	l.mu.Unlock()
	if reserved != 0 {
		t.Fatalf("the refused connection still holds its reserve slot (%d in use)", reserved)
	}
	other, _ := net.Pipe()
	defer other.Close()
	if !l.admit(other) {
		t.Fatal("a ping dialled after the 503 was refused")
	}
}
