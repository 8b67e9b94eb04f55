package monitor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/crilog"
	"github.com/berth-dev/berth/internal/jsonlog"
	"github.com/berth-dev/berth/internal/logfile"
)

// TestMonitorLogBytes: the log file the monitor writes is byte for byte
// what internal/jsonlog's and internal/crilog's writers make of the same
// output (entries split at newlines and at MaxLineSize; Docker's escaping
// of HTML characters, control characters, U+2028 and invalid UTF-8; Go's
// RFC 3339 nano times), so berthd and docker logs read the C monitor's
// files exactly as the Go monitor's.
func TestMonitorLogBytes(t *testing.T) {
	// One stream only (stdout), so the order of entries is fixed.
	var out bytes.Buffer
	out.WriteString("plain line\n")
	out.WriteString("html <b>&amp;</b> \"quoted\" back\\slash\ttab\x01\x1f\x7f\r\n")
	out.WriteString("bad utf8 \xff\xfe \xc3\x28 \xe2\x82 \xf0\x9f\x98 ok é ☃ 😀 \xe2\x80\xa8 \xe2\x80\xa9 \xef\xbf\xbd \xed\xa0\x80\n")
	out.WriteString(strings.Repeat("x", 40000) + "\n")        // three entries: 16K, 16K, rest
	out.WriteString(strings.Repeat("y", logfile.MaxLineSize)) // exactly one full entry without newline
	out.WriteString("\n\n")
	out.WriteString("no newline at the end")
	payload := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(payload, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, driver := range []string{"json-file", "cri"} {
		t.Run(driver, func(t *testing.T) {
			c := newContainerSpec(t, []string{"cat", "/payload"}, false, func(spec map[string]any) {
				spec["mounts"] = append(spec["mounts"].([]map[string]any),
					map[string]any{"destination": "/payload", "type": "bind", "source": payload, "options": []string{"bind", "ro"}})
			})
			c.cfg.LogDriver = driver
			c.start()
			c.startProcess()
			if st := c.wait(); st.ExitCode != 0 {
				t.Fatalf("exit %+v", st)
			}
			raw, err := os.ReadFile(c.cfg.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			// The entries the Go writer makes of this output.
			var want []logfile.Entry
			var lines logfile.Lines
			add := func(e logfile.Entry) error {
				e.Line = append([]byte(nil), e.Line...)
				want = append(want, e)
				return nil
			}
			lines.Split("stdout", out.Bytes(), time.Time{}, add)
			lines.Flush("stdout", add)

			// Times come from the file (the Go writer would have taken
			// its own); everything else must be identical.
			var times []time.Time
			format, read := jsonlog.Format, jsonlog.Read
			if driver == "cri" {
				format, read = crilog.Format, crilog.Read
			}
			err = read(context.Background(), c.cfg.LogPath, 1, logfile.ReadOptions{Tail: -1}, func(e logfile.Entry) error {
				times = append(times, e.Time)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(times) != len(want) {
				t.Fatalf("%d entries in the log, want %d:\n%.2000s", len(times), len(want), raw)
			}
			var exp []byte
			for i, e := range want {
				e.Time = times[i]
				exp = format.Append(exp, e)
			}
			if !bytes.Equal(raw, exp) {
				gl, wl := bytes.Split(raw, []byte("\n")), bytes.Split(exp, []byte("\n"))
				for i := range gl {
					if i >= len(wl) || !bytes.Equal(gl[i], wl[i]) {
						w := []byte(nil)
						if i < len(wl) {
							w = wl[i]
						}
						t.Fatalf("log line %d:\n got  %.300q\n want %.300q", i, gl[i], w)
					}
				}
				t.Fatalf("log differs: %d bytes, want %d", len(raw), len(exp))
			}
		})
	}
}
