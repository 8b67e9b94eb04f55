// Package imagetest builds the small layer tarballs the image, registry and
// archive tests feed the engine.
package imagetest

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"time"
)

// Entry is one member of a test tarball; Type 0 is a regular file and
// Mode 0 the usual 0644 (0755 for directories).
type Entry struct {
	Name, Body, Link string
	Type             byte
	Mode             int64
}

// Tar returns the tarball of entries, with a fixed mtime so that equal
// entries make equal diff IDs.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Link, ModTime: time.Unix(1700000000, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.Body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// Names lists the members of tarball b (directories without their
// trailing slash).
func Names(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	out := map[string]bool{}
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		out[strings.TrimSuffix(h.Name, "/")] = true
	}
	return out
}
