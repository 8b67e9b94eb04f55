// Command kaclient is the benchmark's HTTP client for the published-port
// row: it measures one server through two addresses, direct (the
// container's IP) and published (127.0.0.1:port), in short alternating
// slices, and prints "DIRECT PUBLISHED PERCENT": each address's requests per
// second over its slices and 100 × published ÷ direct.
//
//	kaclient [-c 32] [-slice 100ms] [-groups 10] [-warm 1s] DIRECT PUBLISHED
//
// Why not wrk: wrk runs for whole seconds only, so one ratio took four runs
// (direct, published, published, direct) spread over four seconds, and on a
// shared 2-core machine the other work changes from one second to the next
// by more than the published path costs (rounds from 73 % to 106 % for the
// same berthd). Here the two addresses take turns every -slice in groups of
// four (direct, published, published, direct), -groups groups: a burst of
// other work lasting a second falls on both alike. Both addresses get the
// same client, the same -c keep-alive connections (opened and used for -warm
// before anything is counted), the same request and the same page; only one
// address's connections send at a time, and a slice starts once the last
// one's requests have all been answered.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	conns := flag.Int("c", 32, "keep-alive connections per address")
	slice := flag.Duration("slice", 100*time.Millisecond, "length of one slice")
	groups := flag.Int("groups", 10, "groups of four slices (direct, published, published, direct)")
	warm := flag.Duration("warm", time.Second, "untimed use of each address's connections first")
	flag.Parse()
	if flag.NArg() != 2 || *conns < 1 || *groups < 1 || *slice <= 0 {
		fmt.Fprintln(os.Stderr, "usage: kaclient [-c N] [-slice D] [-groups N] [-warm D] DIRECT_ADDR PUBLISHED_ADDR")
		os.Exit(2)
	}
	direct, err := dialSet(flag.Arg(0), *conns)
	if err == nil {
		var published *set
		if published, err = dialSet(flag.Arg(1), *conns); err == nil {
			var d, p float64
			if d, p, err = run(direct, published, *slice, *groups, *warm); err == nil {
				fmt.Printf("%.0f %.0f %.1f\n", d, p, 100*p/d)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kaclient:", err)
		os.Exit(1)
	}
}

// run uses each set for warm, then takes groups groups of four slices and
// returns the direct and published requests per second over their slices.
func run(direct, published *set, slice time.Duration, groups int, warm time.Duration) (float64, float64, error) {
	for _, s := range []*set{direct, published} {
		if _, err := s.slice(warm); err != nil {
			return 0, 0, err
		}
	}
	var d, p int
	for g := 0; g < groups; g++ {
		for _, s := range []*set{direct, published, published, direct} {
			n, err := s.slice(slice)
			if err != nil {
				return 0, 0, err
			}
			if s == direct {
				d += n
			} else {
				p += n
			}
		}
	}
	if d == 0 {
		return 0, 0, errors.New("no request answered directly")
	}
	secs := (2 * time.Duration(groups) * slice).Seconds()
	return float64(d) / secs, float64(p) / secs, nil
}

// set is one address's connections, each served by a goroutine that sends
// requests back to back while a slice lasts.
type set struct {
	start []chan time.Time // a slice's deadline, one channel per connection
	done  chan result
}

type result struct {
	n   int
	err error
}

func dialSet(addr string, conns int) (*set, error) {
	s := &set{done: make(chan result, conns)}
	req := []byte("GET /index.html HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		ch := make(chan time.Time)
		s.start = append(s.start, ch)
		go serve(c, req, ch, s.done)
	}
	return s, nil
}

// slice lets every connection of the set send for d and returns the number
// of responses that arrived before the deadline. It returns once every
// connection's last request has been answered.
func (s *set) slice(d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for _, ch := range s.start {
		ch <- deadline
	}
	total := 0
	var err error
	for range s.start {
		r := <-s.done
		total += r.n
		if r.err != nil {
			err = r.err
		}
	}
	return total, err
}

func serve(c net.Conn, req []byte, start <-chan time.Time, done chan<- result) {
	br := bufio.NewReaderSize(c, 16<<10)
	for deadline := range start {
		n := 0
		var err error
		for time.Now().Before(deadline) {
			if _, err = c.Write(req); err != nil {
				break
			}
			if err = readResponse(br); err != nil {
				break
			}
			if time.Now().Before(deadline) {
				n++
			}
		}
		done <- result{n, err}
	}
}

// readResponse reads one HTTP/1.1 response with a Content-Length body and
// fails on any status but 200.
func readResponse(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || string(line[9:12]) != "200" {
		return fmt.Errorf("response %q", line)
	}
	length := -1
	for {
		if line, err = br.ReadSlice('\n'); err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		const cl = "content-length:"
		if len(line) > len(cl) && asciiLowerEqual(line[:len(cl)], cl) {
			if length, err = strconv.Atoi(string(trimSpace(line[len(cl):]))); err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = br.Discard(length)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func asciiLowerEqual(b []byte, lower string) bool {
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}
