package logdriver

import (
	"bytes"
	"encoding/binary"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, p
}

func recv(t *testing.T, l *net.UnixConn) string {
	t.Helper()
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64*1024)
	n, err := l.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestParseSyslog(t *testing.T) {
	c, err := ParseSyslog(map[string]string{"syslog-address": "udp://10.0.0.1", "syslog-facility": "local3", "tag": "x"})
	if err != nil || c.Network != "udp" || c.Address != "10.0.0.1:514" || c.Facility != 19 || c.Tag != "x" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = ParseSyslog(map[string]string{"syslog-address": "unixgram:///dev/log", "syslog-facility": "4"})
	if err != nil || c.Network != "unixgram" || c.Address != "/dev/log" || c.Facility != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	for in, want := range map[string]string{
		"syslog-address=ftp://x":     "unsupported scheme: 'ftp'",
		"syslog-address=tcp+tls://x": "tcp+tls is not supported",
		"syslog-address=unix://":     "syslog-address should be in form proto://address",
		"syslog-facility=24":         "invalid syslog facility value",
		"syslog-facility=local9":     "invalid syslog facility value",
		"syslog-format=rfc5425":      "Invalid syslog format",
		"syslog-address=tcp://[::1":  "missing ']'",
	} {
		k, v, _ := strings.Cut(in, "=")
		if _, err := ParseSyslog(map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func FuzzParseSyslog(f *testing.F) {
	f.Add("unixgram:///dev/log", "daemon", "rfc5424")
	f.Add("tcp://h:1", "23", "")
	f.Fuzz(func(t *testing.T, addr, fac, format string) {
		c, err := ParseSyslog(map[string]string{"syslog-address": addr, "syslog-facility": fac, "syslog-format": format})
		if err == nil && (c.Facility < 0 || c.Facility > 23 || (addr != "" && c.Network == "")) {
			t.Fatalf("accepted %q %q %q as %+v", addr, fac, format, c)
		}
	})
}

func TestSyslogLinesAndFormats(t *testing.T) {
	l, p := listen(t)
	w, err := NewSyslog(SyslogConfig{Network: "unixgram", Address: p, Facility: 3, Tag: "web"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.Local)
	w.Write("stdout", []byte("a\nb"), t0)
	if got := recv(t, l); !strings.HasPrefix(got, "<30>May  6 07:08:09 web[") || !strings.HasSuffix(got, "]: a") {
		t.Errorf("stdout line: %q", got)
	}
	w.Write("stderr", []byte("c\n"), t0)
	if got := recv(t, l); !strings.HasPrefix(got, "<27>") || !strings.HasSuffix(got, "]: c") {
		t.Errorf("stderr line: %q", got)
	}
	w.Close() // flushes stdout's unterminated "b"
	if got := recv(t, l); !strings.HasSuffix(got, "]: b") {
		t.Errorf("flushed tail: %q", got)
	}
	s := &syslogWriter{cfg: SyslogConfig{Format: "rfc5424micro", Tag: "t"}, hostname: "h", pid: 7}
	if got := string(s.format(nil, 30, time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), []byte("m"))); got != "<30>1 2024-01-02T03:04:05.000006Z h t 7 t - m" {
		t.Errorf("rfc5424micro: %q", got)
	}
}

func TestJournaldFields(t *testing.T) {
	l, p := listen(t)
	w, err := NewJournald(p, map[string]string{"CONTAINER_NAME": "web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write("stderr", []byte("boom\n"), time.Now())
	got := recv(t, l)
	for _, f := range []string{"CONTAINER_NAME=web\n", "MESSAGE=boom\n", "PRIORITY=3\n"} {
		if !strings.Contains(got, f) {
			t.Errorf("journal entry %q lacks %q", got, f)
		}
	}
	if strings.Contains(got, "CONTAINER_PARTIAL_MESSAGE") {
		t.Errorf("whole line marked partial: %q", got)
	}
	// A value with a newline uses the length-prefixed form.
	b := appendField(nil, "K", "x\ny")
	want := append([]byte("K\n"), binary.LittleEndian.AppendUint64(nil, 3)...)
	want = append(want, "x\ny\n"...)
	if !bytes.Equal(b, want) {
		t.Errorf("binary field % x", b)
	}
	if _, err := NewJournald(filepath.Join(t.TempDir(), "none"), nil); err == nil || err.Error() != "journald is not enabled on this host" {
		t.Errorf("no journald: %v", err)
	}
}
