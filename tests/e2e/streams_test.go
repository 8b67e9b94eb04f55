package e2e

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawExec creates an exec of cmd in container and starts it the way the
// Python SDK's exec_run does: POST /exec/{id}/start with {"Tty":tty} on a
// hijacked connection, no stdin, the stream read to EOF. It returns what
// the process wrote (demultiplexed without a TTY).
// With stdin, the exec also attaches stdin, which the client holds open and
// never writes to.
func rawExec(d *Daemon, container string, tty, stdin bool, cmd ...string) (string, error) {
	body, _ := json.Marshal(map[string]any{"Cmd": cmd, "Tty": tty, "AttachStdin": stdin, "AttachStdout": true, "AttachStderr": true})
	resp, err := d.HTTPClient().Post("http://berth/v1.47/containers/"+container+"/exec", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	var created struct{ Id, Message string }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("exec create: HTTP %d %s", resp.StatusCode, created.Message)
	}
	start := fmt.Sprintf(`{"Detach":false,"Tty":%v}`, tty)
	return rawHijack(d, "/v1.47/exec/"+created.Id+"/start", start, !tty)
}

// rawHijack POSTs body to path with Docker's upgrade headers and reads the
// raw stream to EOF, demultiplexing stdcopy frames when multiplexed.
func rawHijack(d *Daemon, path, body string, multiplexed bool) (string, error) {
	conn, err := net.Dial("unix", d.Sock)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("status line: %w", err)
	}
	if !strings.Contains(status, " 101 ") && !strings.Contains(status, " 200 ") {
		rest, _ := io.ReadAll(r)
		return "", fmt.Errorf("start: %s%s", strings.TrimSpace(status), rest)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("headers: %w", err)
		}
		if l == "\r\n" {
			break
		}
	}
	if !multiplexed {
		b, err := io.ReadAll(r)
		return string(b), err
	}
	var out strings.Builder
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF {
				return out.String(), nil
			}
			return out.String(), fmt.Errorf("frame header: %w", err)
		}
		if _, err := io.CopyN(&out, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return out.String(), fmt.Errorf("frame: %w", err)
		}
	}
}

// parallel runs f(0..n-1) on workers goroutines and returns the failures.
func parallel(n, workers int, f func(i int) error) []string {
	var (
		next atomic.Int64
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("#%d: %v", i, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

func reportLost(t *testing.T, what string, n int, errs []string) {
	t.Helper()
	if len(errs) == 0 {
		return
	}
	shown := errs
	if len(shown) > 10 {
		shown = shown[:10]
	}
	t.Errorf("%s: %d of %d lost their output:\n  %s", what, len(errs), n, strings.Join(shown, "\n  "))
}

// Issue 19: every line a short-lived process writes reaches the client that
// asked for it, with and without a TTY, through the raw API as the SDKs
// drive it and through the docker CLI. The process exits right after
// writing, which races the end of the stream against the draining of its
// output.
func TestStreamsNoLostOutput(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	name := uniq("streams")
	b.Must(t, "run", "-d", "--name", name, "busybox", "sleep", "600")
	defer b.Run(t, "rm", "-f", name)

	check := func(got string, i int) error {
		if want := fmt.Sprintf("line-%d", i); !strings.Contains(got, want) {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	}
	t.Run("api-tty", func(t *testing.T) {
		const n = 500
		reportLost(t, "exec with Tty:true", n, parallel(n, 6, func(i int) error {
			out, err := rawExec(d, name, true, i%2 == 1, "echo", fmt.Sprintf("line-%d", i))
			if err != nil {
				return err
			}
			return check(out, i)
		}))
	})
	t.Run("api-notty", func(t *testing.T) {
		const n = 500
		reportLost(t, "exec without a TTY", n, parallel(n, 6, func(i int) error {
			out, err := rawExec(d, name, false, i%2 == 1, "echo", fmt.Sprintf("line-%d", i))
			if err != nil {
				return err
			}
			return check(out, i)
		}))
	})
	docker := d.Docker(t)
	t.Run("cli-exec-t", func(t *testing.T) {
		const n = 100
		reportLost(t, "docker exec -t", n, parallel(n, 4, func(i int) error {
			r := docker.Run(t, "exec", "-t", name, "echo", fmt.Sprintf("line-%d", i))
			if r.Exit != 0 {
				return fmt.Errorf("%s", r)
			}
			return check(r.Stdout, i)
		}))
	})
	t.Run("cli-run-rm-t", func(t *testing.T) {
		const n = 200
		reportLost(t, "docker run --rm -t", n, parallel(n, 4, func(i int) error {
			r := docker.Run(t, "run", "--rm", "-t", "busybox", "echo", fmt.Sprintf("line-%d", i))
			if r.Exit != 0 {
				return fmt.Errorf("%s", r)
			}
			return check(r.Stdout, i)
		}))
	})
}
