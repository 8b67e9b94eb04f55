package archive

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gzipMembers is data gzip'd as two members back to back (as a layer
// written in pieces may be).
func gzipMembers(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, part := range [][]byte{data[:len(data)/2], data[len(data)/2:]} {
		w, _ := compressWriter(&buf, Gzip)
		w.Write(part)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// decoders runs fn with DecompressLayer using igzip (skipped when it is
// not installed) and then the in-process decoder.
func decoders(t *testing.T, fn func(t *testing.T)) {
	orig := gunzipPath
	t.Cleanup(func() { gunzipPath = orig })
	t.Run("igzip", func(t *testing.T) {
		if orig() == "" {
			t.Skip("igzip is not installed (Debian package isal)")
		}
		gunzipPath = orig
		fn(t)
	})
	t.Run("in-process", func(t *testing.T) {
		gunzipPath = func() string { return "" }
		fn(t)
	})
}

func TestDecompressLayerRoundTrip(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data[:1<<20]) // some incompressible, some not
	decoders(t, func(t *testing.T) {
		rd, c, err := DecompressLayer(bytes.NewReader(gzipMembers(t, data)))
		if err != nil || c != Gzip {
			t.Fatalf("DecompressLayer: %v %v", c, err)
		}
		got, err := io.ReadAll(rd)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %d of %d bytes, %v", len(got), len(data), err)
		}
		if err := rd.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// A truncated or corrupt stream is an error at its end, never a short
// stream read as if it were whole.
func TestDecompressLayerBadStream(t *testing.T) {
	data := bytes.Repeat([]byte("layer data "), 100000)
	gz := gzipMembers(t, data)
	corrupt := bytes.Clone(gz)
	corrupt[len(corrupt)/3] ^= 0xff
	decoders(t, func(t *testing.T) {
		for name, in := range map[string][]byte{"truncated": gz[:len(gz)-3], "corrupt": corrupt} {
			rd, _, err := DecompressLayer(bytes.NewReader(in))
			if err == nil {
				_, err = io.ReadAll(rd)
				rd.Close()
			}
			if err == nil {
				t.Fatalf("%s stream read without an error", name)
			}
		}
	})
}

// Close before the end stops the decoder and returns while its input is
// still open (no process or goroutine left behind).
func TestDecompressLayerCloseEarly(t *testing.T) {
	gz := gzipMembers(t, bytes.Repeat([]byte("abc"), 1<<20))
	decoders(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		go pw.Write(gz[:len(gz)/2]) // the rest never comes
		rd, _, err := DecompressLayer(pr)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			pw.CloseWithError(io.ErrClosedPipe) // as a caller closes its download
			rd.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Close did not return")
		}
		if g, ok := rd.(*gunzipReader); ok && g.cmd.ProcessState == nil {
			t.Fatal("igzip was not waited for")
		}
	})
}

// igzip reads hostile input: when berthd is root it runs as nobody.
func TestGunzipRunsAsNobody(t *testing.T) {
	if os.Geteuid() != 0 || gunzipPath() == "" {
		t.Skip("needs root and igzip")
	}
	pr, pw := io.Pipe()
	rd, _, err := DecompressLayer(io.MultiReader(bytes.NewReader([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}), pr))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	defer pw.Close() // before rd.Close, which waits for the read of pr
	g := rd.(*gunzipReader)
	st, err := os.ReadFile("/proc/" + strconv.Itoa(g.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:") {
			if f := strings.Fields(l); len(f) < 5 || f[1] != "65534" || f[2] != "65534" || f[4] != "65534" {
				t.Fatalf("igzip runs with %q", l)
			}
		}
		if strings.HasPrefix(l, "CapEff:") && strings.TrimSpace(strings.TrimPrefix(l, "CapEff:")) != "0000000000000000" {
			t.Fatalf("igzip keeps capabilities: %q", l)
		}
	}
}
