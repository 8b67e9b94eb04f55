package hostile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

// The sparse generators produce what archive/tar reads as one sparse file
// of the claimed logical size: the cases test what they say they test.
func TestSparseGeneratorsParse(t *testing.T) {
	for name, data := range map[string][]byte{"pax": SparsePAX("bomb", 1<<30), "gnu": SparseGNU("bomb", 1<<30)} {
		tr := tar.NewReader(bytes.NewReader(data))
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if hdr.Name != "bomb" || hdr.Size != 1<<30 {
			t.Errorf("%s: name %q size %d, want bomb and 1 GiB", name, hdr.Name, hdr.Size)
		}
		if len(data) > 8<<10 {
			t.Errorf("%s: archive is %d bytes, want a few KiB", name, len(data))
		}
		if _, err := tr.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the entry: %v, want EOF", name, err)
		}
	}
}

func TestCasesBuild(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Cases("/tmp/outside") {
		if seen[c.Name] || len(c.Data) == 0 || len(c.Data) > 4<<20 {
			t.Errorf("case %s: duplicate name or size %d", c.Name, len(c.Data))
		}
		seen[c.Name] = true
	}
}

func TestGzipBombExpands(t *testing.T) {
	data := GzipBomb("z", 64<<20)
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil || hdr.Size != 64<<20 {
		t.Fatalf("bomb header: %v %v", hdr, err)
	}
	if n, err := io.Copy(io.Discard, tr); err != nil || n != 64<<20 {
		t.Fatalf("bomb body: %d %v", n, err)
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the entry: %v", err)
	}
	if len(data) > 256<<10 {
		t.Errorf("bomb is %d bytes compressed", len(data))
	}
}
