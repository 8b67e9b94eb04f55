package archive

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestDecompressXzAndBzip2: the two compressions Berth has no writer for
// are read as dockerd reads them (xz from ulikunitz/xz, bzip2 from the
// system tool when present).
func TestDecompressXzAndBzip2(t *testing.T) {
	data := buildTar(t, ent{name: "a", body: "hello"})
	var xbuf bytes.Buffer
	xw, err := xz.NewWriter(&xbuf)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(data)
	xw.Close()
	streams := map[Compression][]byte{Xz: xbuf.Bytes()}
	if _, err := exec.LookPath("bzip2"); err == nil {
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		streams[Bzip2] = out
	}
	for c, s := range streams {
		rd, got, err := DecompressLimited(bytes.NewReader(s), 0)
		if err != nil || got != c {
			t.Fatalf("%v: detected %v, %v", c, got, err)
		}
		out, err := io.ReadAll(rd)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("%v: round trip differs (%v)", c, err)
		}
	}
}

// TestDecompressLimited: a small compressed stream that expands past the
// cap ends in ErrTooLarge; one of exactly the cap reads fully.
func TestDecompressLimited(t *testing.T) {
	var buf bytes.Buffer
	w, _ := compressWriter(&buf, Gzip)
	w.Write(make([]byte, 1<<20))
	w.Close()
	rd, _, err := DecompressLimited(bytes.NewReader(buf.Bytes()), 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rd)
	if !errors.Is(err, ErrTooLarge) || n != 64<<10 {
		t.Fatalf("copied %d, err %v; want 65536 and ErrTooLarge", n, err)
	}
	rd, _, _ = DecompressLimited(bytes.NewReader(buf.Bytes()), 1<<20)
	if n, err := io.Copy(io.Discard, rd); err != nil || n != 1<<20 {
		t.Fatalf("exact cap: %d %v", n, err)
	}
}

// FuzzDecompressLimited: any input either fails cleanly or yields at most
// the cap, never a panic or a longer stream.
func FuzzDecompressLimited(f *testing.F) {
	var gz bytes.Buffer
	w, _ := compressWriter(&gz, Gzip)
	w.Write([]byte("some tar-ish content"))
	w.Close()
	f.Add(gz.Bytes())
	f.Add([]byte{0xfd, '7', 'z', 'X', 'Z', 0x00, 1, 2, 3})
	f.Add([]byte("BZh91AY&SY"))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, _, err := DecompressLimited(bytes.NewReader(data), 4096)
		if err != nil {
			return
		}
		defer rd.Close()
		n, _ := io.Copy(io.Discard, io.LimitReader(rd, 1<<20))
		if n > 4096 {
			t.Fatalf("read %d bytes past a 4096-byte cap", n)
		}
	})
}
