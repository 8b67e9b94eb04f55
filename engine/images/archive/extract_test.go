package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type ent struct {
	name, body, link string
	typ              byte
	mode             int64
	major            int64
	xattrs           map[string]string
}

func buildTar(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: time.Unix(1600000000, 0), Devmajor: e.major, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// sandbox returns a layer root inside a parent dir that also holds an
// "outside" dir standing for the host: nothing may appear there.
func sandbox(t *testing.T) (root, outside string) {
	dir := t.TempDir()
	root = filepath.Join(dir, "layer")
	outside = filepath.Join(dir, "outside")
	os.Mkdir(root, 0o755)
	os.Mkdir(outside, 0o755)
	return root, outside
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("something was written outside the layer: %v", ents)
	}
}

func TestExtractBasic(t *testing.T) {
	root, _ := sandbox(t)
	data := buildTar(t,
		ent{name: "bin/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "bin/sh", body: "#!", mode: 0o4755},
		ent{name: "bin/ln", typ: tar.TypeLink, link: "bin/sh"},
		ent{name: "bin/s", typ: tar.TypeSymlink, link: "/bin/sh"},
		ent{name: "./etc/../etc/x", body: "x", xattrs: map[string]string{"user.k": "v", "trusted.overlay.redirect": "/etc"}},
	)
	res, err := Extract(bytes.NewReader(data), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if res.DiffID != "sha256:"+hex.EncodeToString(sum[:]) || res.Size != 3 || res.Entries != 5 {
		t.Fatalf("result %+v", res)
	}
	fi, err := os.Stat(filepath.Join(root, "bin/sh"))
	if err != nil || fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if !fi.ModTime().Equal(time.Unix(1600000000, 0)) {
		t.Fatalf("mtime %v", fi.ModTime())
	}
	if l, _ := os.Readlink(filepath.Join(root, "bin/s")); l != "/bin/sh" {
		t.Fatalf("symlink %q", l)
	}
	fl, _ := os.Stat(filepath.Join(root, "bin/ln"))
	if !os.SameFile(fi, fl) {
		t.Fatal("hard link not linked")
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(root, "etc/x"), "user.k", buf); err == nil && string(buf[:n]) != "v" {
		t.Fatalf("xattr %q", buf[:n])
	}
	if _, err := unix.Lgetxattr(filepath.Join(root, "etc/x"), "trusted.overlay.redirect", buf); err == nil {
		t.Fatal("overlay xattr from the tar was applied")
	}
}

func TestExtractPathTraversal(t *testing.T) {
	root, outside := sandbox(t)
	data := buildTar(t, ent{name: "../outside/evil", body: "x"}, ent{name: "/../../outside/evil2", body: "x"}, ent{name: "a/../../../outside/evil3", body: "x"})
	if _, err := Extract(bytes.NewReader(data), root, Options{}); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, outside)
	// Confined: the names land inside the root.
	for _, p := range []string{"outside/evil", "outside/evil2", "outside/evil3"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestExtractSymlinkThenWriteThrough(t *testing.T) {
	root, outside := sandbox(t)
	data := buildTar(t,
		ent{name: "link", typ: tar.TypeSymlink, link: outside},
		ent{name: "link/evil", body: "x"},
		ent{name: "rel", typ: tar.TypeSymlink, link: "../outside"},
		ent{name: "rel/evil", body: "x"},
		ent{name: "file", typ: tar.TypeSymlink, link: filepath.Join(outside, "target")},
		ent{name: "file", body: "replaced"}, // must replace the link, not write through it
		ent{name: "dir", typ: tar.TypeSymlink, link: outside},
		ent{name: "dir/", typ: tar.TypeDir, mode: 0o777},
	)
	if _, err := Extract(bytes.NewReader(data), root, Options{}); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, outside)
	if fi, err := os.Lstat(filepath.Join(root, "file")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("file: %v %v", fi, err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "dir")); err != nil || !fi.IsDir() {
		t.Fatalf("dir: %v", err)
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o755 {
		t.Fatalf("outside dir mode changed: %v", fi.Mode())
	}
}

// A directory already used as a parent, then replaced by a symlink to the
// host: later entries below it go where the symlink leads inside the
// root, never through it (the parents cache forgets replaced paths).
func TestExtractParentReplacedBySymlink(t *testing.T) {
	root, outside := sandbox(t)
	big := strings.Repeat("x", maxDeferredFile+1) // written in order, not by a worker
	data := buildTar(t,
		ent{name: "d/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "d/a", body: "a"},
		ent{name: "d", typ: tar.TypeSymlink, link: outside},
		ent{name: "d/sub/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "d/big", body: big},
		ent{name: "e/f/", typ: tar.TypeDir, mode: 0o755},
		ent{name: "e/f/g", body: "g"},
		ent{name: "e", typ: tar.TypeSymlink, link: "../outside"},
		ent{name: "e/f/h", body: big},
	)
	if _, err := Extract(bytes.NewReader(data), root, Options{}); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, outside)
	if b, err := os.ReadFile(filepath.Join(root, outside, "big")); err != nil || len(b) != len(big) {
		t.Fatalf("d/big not inside the root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "outside", "f", "h")); err != nil {
		t.Fatalf("e/f/h not inside the root: %v", err)
	}
}

func TestExtractHardlinkEscape(t *testing.T) {
	root, outside := sandbox(t)
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	for _, link := range []string{secret, "../outside/secret", "escape/secret"} {
		data := buildTar(t, ent{name: "escape", typ: tar.TypeSymlink, link: outside}, ent{name: "h", typ: tar.TypeLink, link: link})
		_, err := Extract(bytes.NewReader(data), root, Options{})
		if err == nil {
			fi, _ := os.Stat(filepath.Join(root, "h"))
			sfi, _ := os.Stat(secret)
			if os.SameFile(fi, sfi) {
				t.Fatalf("hard link %q reached outside", link)
			}
		}
	}
	// A hard link to a directory is refused.
	data := buildTar(t, ent{name: "d/", typ: tar.TypeDir}, ent{name: "h2", typ: tar.TypeLink, link: "d"})
	if _, err := Extract(bytes.NewReader(data), root, Options{}); err == nil {
		t.Fatal("hard link to a directory accepted")
	}
}

func TestExtractWhiteouts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts need root (mknod, trusted xattrs)")
	}
	root, outside := sandbox(t)
	os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o644)
	data := buildTar(t,
		ent{name: "etc/", typ: tar.TypeDir},
		ent{name: "etc/.wh.passwd", body: ""},
		ent{name: "opq/", typ: tar.TypeDir},
		ent{name: "opq/.wh..wh..opq", body: ""},
		ent{name: "esc", typ: tar.TypeSymlink, link: outside},
		ent{name: "esc/.wh.victim", body: ""},
		ent{name: "../outside/.wh.victim", body: ""},
	)
	if _, err := Extract(bytes.NewReader(data), root, Options{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "victim")); err != nil || string(b) != "v" {
		t.Fatal("whiteout reached outside the layer")
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "etc/passwd"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("whiteout not a 0/0 char device: %v", err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(root, "opq"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Fatalf("opaque xattr: %v", err)
	}
	for _, bad := range []string{"x/.wh..", "x/.wh."} {
		if _, err := Extract(bytes.NewReader(buildTar(t, ent{name: bad})), root, Options{}); err == nil {
			t.Errorf("whiteout %q accepted", bad)
		}
	}
}

func TestExtractDevices(t *testing.T) {
	root, _ := sandbox(t)
	data := buildTar(t, ent{name: "null", typ: tar.TypeChar, major: 1, mode: 0o666}, ent{name: "fifo", typ: tar.TypeFifo, mode: 0o600})
	if _, err := Extract(bytes.NewReader(data), root, Options{Unprivileged: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "null")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("device node created without privileges")
	}
	if os.Geteuid() == 0 {
		root2, _ := sandbox(t)
		if _, err := Extract(bytes.NewReader(data), root2, Options{}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(root2, "null"))
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("char device: %v", err)
		}
		if fi, err := os.Lstat(filepath.Join(root2, "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("fifo: %v", err)
		}
	}
	// Unknown types are refused.
	if _, err := Extract(bytes.NewReader(buildTar(t, ent{name: "x", typ: 'Z'})), root, Options{}); err == nil {
		t.Fatal("unknown type accepted")
	}
}

// zeroReader yields a tar of one huge zero-filled file without building it.
func TestExtractBombCap(t *testing.T) {
	root, _ := sandbox(t)
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1 << 30, Mode: 0o644})
		_, err := io.CopyN(tw, zeros{}, 1<<30)
		pw.CloseWithError(err)
	}()
	_, err := Extract(pr, root, Options{MaxSize: 1 << 20})
	pr.Close()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("want size cap error, got %v", err)
	}
	many := make([]ent, 20)
	for i := range many {
		many[i] = ent{name: strings.Repeat("a", i+1), body: ""}
	}
	if _, err := Extract(bytes.NewReader(buildTar(t, many...)), root, Options{MaxEntries: 10}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want entry cap error, got %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestExtractDigestMismatch(t *testing.T) {
	root, _ := sandbox(t)
	data := buildTar(t, ent{name: "a", body: "a"})
	_, err := Extract(bytes.NewReader(data), root, Options{DiffID: "sha256:" + strings.Repeat("0", 64)})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("want mismatch, got %v", err)
	}
}

func TestExtractTruncated(t *testing.T) {
	data := buildTar(t, ent{name: "a", body: strings.Repeat("x", 5000)}, ent{name: "b", body: "b"})
	for _, n := range []int{100, 700, 3000} {
		root, _ := sandbox(t)
		if _, err := Extract(bytes.NewReader(data[:n]), root, Options{}); err == nil {
			t.Errorf("truncated at %d: no error", n)
		}
	}
}

func TestDecompress(t *testing.T) {
	data := buildTar(t, ent{name: "a", body: "a"})
	for _, c := range []Compression{Uncompressed, Gzip, Zstd} {
		var buf bytes.Buffer
		w, _ := compressWriter(&buf, c)
		w.Write(data)
		w.Close()
		rd, got, err := Decompress(&buf)
		if err != nil || got != c {
			t.Fatalf("%v: %v %v", c, got, err)
		}
		out, _ := io.ReadAll(rd)
		if !bytes.Equal(out, data) {
			t.Fatalf("%v: round trip differs", c)
		}
	}
}

func TestWriteTarRoundTrip(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts need root")
	}
	root, _ := sandbox(t)
	data := buildTar(t,
		ent{name: "d/", typ: tar.TypeDir},
		ent{name: "d/f", body: "f"},
		ent{name: "d/.wh.gone", body: ""},
		ent{name: "o/", typ: tar.TypeDir},
		ent{name: "o/.wh..wh..opq", body: ""},
		ent{name: "l", typ: tar.TypeSymlink, link: "/x"},
	)
	if _, err := Extract(bytes.NewReader(data), root, Options{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteTar(t.Context(), &out, root, TarOptions{Whiteouts: true}); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names[h.Name] = true
	}
	for _, n := range []string{"d/", "d/f", "d/.wh.gone", "o/", "o/.wh..wh..opq", "l"} {
		if !names[n] {
			t.Errorf("missing %s in %v", n, names)
		}
	}
}

// A directory replaced mid-layer (by a file, then by a new directory) gets
// the files that follow, not the workers' handle of the old one.
func TestExtractDirectoryReplacedUnderWorkers(t *testing.T) {
	entries := []ent{{name: "d/", typ: tar.TypeDir, mode: 0o755}}
	for i := 0; i < 60; i++ {
		entries = append(entries, ent{name: "d/f" + strconv.Itoa(i), body: "old"})
	}
	entries = append(entries, ent{name: "d", body: "a file now"}, ent{name: "d/", typ: tar.TypeDir, mode: 0o755})
	for i := 0; i < 60; i++ {
		entries = append(entries, ent{name: "d/g" + strconv.Itoa(i), body: "new"})
	}
	root, outside := sandbox(t)
	if _, err := Extract(bytes.NewReader(buildTar(t, entries...)), root, Options{}); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(filepath.Join(root, "d"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 60 {
		t.Fatalf("d holds %d entries, want the 60 new files", len(names))
	}
	for _, n := range names {
		if !strings.HasPrefix(n.Name(), "g") {
			t.Fatalf("old file %s in the new directory", n.Name())
		}
	}
	assertEmpty(t, outside)
}

// What is in the way of an entry is replaced, whether an earlier entry,
// an implied parent or (extracting into a non-empty directory) something
// there before: the extractor's record of what it made must not hide it.
func TestExtractReplacesWhatIsInTheWay(t *testing.T) {
	tarball := buildTar(t,
		ent{name: "dup", body: "first"}, ent{name: "dup", body: "second"},
		ent{name: "x/y/z/f", body: "deep"}, ent{name: "x/y", body: "a file over an implied directory"},
		ent{name: "l", typ: tar.TypeSymlink, link: "dup"}, ent{name: "l", body: "over a symlink"},
		ent{name: "pre", body: "from the layer"}, ent{name: "pre/", typ: tar.TypeDir},
	)
	check := func(root string, want map[string]string) {
		t.Helper()
		for name, body := range want {
			if b, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(b) != body {
				t.Errorf("%s = %q, %v; want %q", name, b, err, body)
			}
		}
		if fi, err := os.Lstat(filepath.Join(root, "pre")); err != nil || !fi.IsDir() {
			t.Errorf("pre is not the layer's directory: %v", err)
		}
	}
	want := map[string]string{"dup": "second", "x/y": "a file over an implied directory", "l": "over a symlink"}
	root, _ := sandbox(t)
	if _, err := Extract(bytes.NewReader(tarball), root, Options{}); err != nil {
		t.Fatal(err)
	}
	check(root, want)

	root2, _ := sandbox(t)
	for name, body := range map[string]string{"dup": "old", "l": "old", "pre": "old"} {
		if err := os.WriteFile(filepath.Join(root2, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Extract(bytes.NewReader(tarball), root2, Options{}); err != nil {
		t.Fatal(err)
	}
	check(root2, want)
}
