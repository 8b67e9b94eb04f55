// Package hostile builds hostile archives: tar streams (and compressed
// bombs) that try to write outside the folder they are unpacked into, fill
// the disk, or confuse the extractor. Every case is generated in memory,
// small (kilobytes), and deterministic, so tests can feed them to a real
// berthd (import, load, PUT /containers/{id}/archive, build contexts) and
// check that nothing appeared outside the data root and that the daemon
// answered with a 4xx, or accepted the archive harmlessly.
package hostile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strconv"
	"strings"
)

// Case is one hostile archive.
type Case struct {
	Name string
	// Data is the archive as sent: a tar stream, or gzip of one.
	Data []byte
	// MustRefuse: a correct engine refuses this archive (4xx); otherwise
	// it may accept it as long as nothing escapes (Docker does the same:
	// a symlink to / is just a symlink).
	MustRefuse bool
}

// Entry is one tar member; the zero Mode means 0644 (0755 for dirs).
type Entry struct {
	Name, Linkname string
	Type           byte
	Mode           int64
	Body           []byte
	Uid, Gid       int
	Major, Minor   int64
	PAX            map[string]string
}

// Tar writes entries with archive/tar (which refuses nothing a hostile
// name could carry).
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		h := &tar.Header{Name: e.Name, Linkname: e.Linkname, Typeflag: typ, Mode: mode, Uid: e.Uid, Gid: e.Gid,
			Devmajor: e.Major, Devminor: e.Minor, PAXRecords: e.PAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if len(e.PAX) > 0 || len(e.Name) > 100 || len(e.Linkname) > 100 {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(h); err != nil {
			panic(fmt.Sprintf("hostile: header %q: %v", e.Name, err))
		}
		if h.Size > 0 {
			tw.Write(e.Body)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// GzipBomb is a gzip stream of a tar holding one regular file of size
// zero bytes (size a multiple of 1 MiB). It is built from concatenated
// gzip members, one compressed MiB repeated, so making it costs nothing:
// about size/1000 bytes.
func GzipBomb(name string, size int64) []byte {
	const mib = 1 << 20
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	tw.Flush()
	zeros := Gzip(make([]byte, mib))
	var buf bytes.Buffer
	buf.Write(Gzip(hdr.Bytes()))
	for i := int64(0); i < size/mib; i++ {
		buf.Write(zeros)
	}
	buf.Write(Gzip(make([]byte, 1024))) // end of archive
	return buf.Bytes()
}

// SparsePAX is a tar with one PAX 1.0 sparse file (GNU.sparse.major=1) of
// logical size realSize, holding a single 512-byte data extent at its end:
// a few KiB of archive that an extractor writing holes as zeros turns into
// realSize bytes on disk.
func SparsePAX(name string, realSize int64) []byte {
	data := bytes.Repeat([]byte("S"), 512)
	sparseMap := fmt.Sprintf("1\n%d\n%d\n", realSize-512, len(data))
	mapBlock := make([]byte, roundUp(int64(len(sparseMap))))
	copy(mapBlock, sparseMap)
	body := append(mapBlock, data...)
	var buf bytes.Buffer
	pax := paxRecords([][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", name}, {"GNU.sparse.realsize", strconv.FormatInt(realSize, 10)},
	})
	buf.Write(rawHeader(rawFields{name: "./PaxHeaders/" + shortName(name), size: int64(len(pax)), typ: 'x', mode: 0o644}))
	buf.Write(pad(pax))
	buf.Write(rawHeader(rawFields{name: "./GNUSparseFile.0/" + shortName(name), size: int64(len(body)), typ: '0', mode: 0o644}))
	buf.Write(pad(body))
	buf.Write(make([]byte, 1024))
	return buf.Bytes()
}

// SparseGNU is a tar with one old-GNU sparse entry (type 'S') of logical
// size realSize and one 512-byte extent at its end.
func SparseGNU(name string, realSize int64) []byte {
	data := bytes.Repeat([]byte("G"), 512)
	h := rawHeader(rawFields{name: name, size: int64(len(data)), typ: 'S', mode: 0o644, gnu: true})
	// sparse[0] at 386: offset (12) and length (12); realsize at 483.
	putOctal(h[386:398], realSize-512)
	putOctal(h[398:410], 512)
	putOctal(h[483:495], realSize)
	checksum(h)
	var buf bytes.Buffer
	buf.Write(h)
	buf.Write(data)
	buf.Write(make([]byte, 1024))
	return buf.Bytes()
}

// HugePAXHeader is a tar whose PAX header claims size bytes of records (the
// reader must refuse it, not allocate it).
func HugePAXHeader(size int64) []byte {
	var buf bytes.Buffer
	buf.Write(rawHeader(rawFields{name: "./PaxHeaders/big", size: size, typ: 'x', mode: 0o644}))
	// Only the start of the claimed records follows: a truncated stream.
	rec := paxRecords([][2]string{{"comment", strings.Repeat("A", 4000)}})
	buf.Write(pad(rec))
	return buf.Bytes()
}

// Cases returns the hostile archive classes. outside is an absolute host
// folder (it should exist and be empty) that entries try to reach through
// absolute names, "../" climbs, symlinks and hard links; after feeding
// them, a test checks it is still empty.
func Cases(outside string) []Case {
	rel := strings.Repeat("../", 24) + strings.TrimPrefix(outside, "/")
	const tib = int64(1) << 40
	return []Case{
		{Name: "dotdot", Data: Tar(Entry{Name: rel + "/dotdot", Body: []byte("x")})},
		{Name: "dotdot-in-middle", Data: Tar(Entry{Name: "a/", Type: tar.TypeDir}, Entry{Name: "a/../../../../../../../../../.." + outside + "/mid", Body: []byte("x")})},
		{Name: "absolute", Data: Tar(Entry{Name: outside + "/absolute", Body: []byte("x")})},
		{Name: "symlink-dir-then-write", Data: Tar(Entry{Name: "lnk", Type: tar.TypeSymlink, Linkname: outside}, Entry{Name: "lnk/through-dir", Body: []byte("x")})},
		{Name: "symlink-relative-then-write", Data: Tar(Entry{Name: "lnk", Type: tar.TypeSymlink, Linkname: rel}, Entry{Name: "lnk/through-rel", Body: []byte("x")})},
		{Name: "symlink-file-then-write", Data: Tar(Entry{Name: "f", Type: tar.TypeSymlink, Linkname: outside + "/through-file"}, Entry{Name: "f", Body: []byte("x")})},
		{Name: "symlink-chain", Data: Tar(Entry{Name: "a", Type: tar.TypeSymlink, Linkname: "b"}, Entry{Name: "b", Type: tar.TypeSymlink, Linkname: outside}, Entry{Name: "a/chain", Body: []byte("x")})},
		{Name: "hardlink-outside-abs", Data: Tar(Entry{Name: "h", Type: tar.TypeLink, Linkname: "/etc/passwd"}), MustRefuse: false},
		{Name: "hardlink-outside-rel", Data: Tar(Entry{Name: "h", Type: tar.TypeLink, Linkname: rel + "/../../etc/hostname"})},
		{Name: "hardlink-via-symlink", Data: Tar(Entry{Name: "s", Type: tar.TypeSymlink, Linkname: "/etc"}, Entry{Name: "h", Type: tar.TypeLink, Linkname: "s/hostname"}, Entry{Name: "h", Body: []byte("overwrite")})},
		{Name: "char-device", Data: Tar(Entry{Name: "mem", Type: tar.TypeChar, Major: 1, Minor: 1, Mode: 0o666})},
		{Name: "block-device", Data: Tar(Entry{Name: "sda", Type: tar.TypeBlock, Major: 8, Minor: 0, Mode: 0o666})},
		{Name: "device-outside", Data: Tar(Entry{Name: rel + "/devnode", Type: tar.TypeChar, Major: 1, Minor: 3})},
		{Name: "fifo-outside", Data: Tar(Entry{Name: outside + "/fifo", Type: tar.TypeFifo})},
		{Name: "sparse-pax-1TiB", Data: SparsePAX("bomb", tib), MustRefuse: true},
		{Name: "sparse-gnu-1TiB", Data: SparseGNU("bomb", tib), MustRefuse: true},
		{Name: "sparse-pax-outside", Data: SparsePAX(rel+"/sparse", 4096)},
		{Name: "huge-pax-header", Data: HugePAXHeader(1 << 40), MustRefuse: true},
		{Name: "negative-size", Data: negativeSize(), MustRefuse: true},
		{Name: "duplicate-file-dir", Data: Tar(Entry{Name: "d", Body: []byte("file")}, Entry{Name: "d/", Type: tar.TypeDir}, Entry{Name: "d/x", Body: []byte("x")}, Entry{Name: "d", Body: []byte("again")})},
		{Name: "duplicate-dir-symlink", Data: Tar(Entry{Name: "d/", Type: tar.TypeDir}, Entry{Name: "d", Type: tar.TypeSymlink, Linkname: outside}, Entry{Name: "d/dup", Body: []byte("x")})},
		{Name: "long-name-4k", Data: Tar(Entry{Name: strings.Repeat(strings.Repeat("n", 49)+"/", 80) + "f", Body: []byte("x")})},
		{Name: "long-component-300", Data: Tar(Entry{Name: strings.Repeat("c", 300), Body: []byte("x")})},
		{Name: "long-link-target", Data: Tar(Entry{Name: "l", Type: tar.TypeSymlink, Linkname: strings.Repeat("../", 3000) + outside})},
		{Name: "setuid-root", Data: Tar(Entry{Name: "su", Mode: 0o4755 | 0o2000, Body: []byte("#!/bin/sh\n")})},
		{Name: "whiteout-escape", Data: Tar(Entry{Name: rel + "/.wh.victim", Body: nil})},
		{Name: "whiteout-dotdot", Data: Tar(Entry{Name: "a/.wh...", Body: nil})},
		{Name: "whiteout-opaque-root", Data: Tar(Entry{Name: ".wh..wh..opq"})},
		{Name: "whiteout-through-symlink", Data: Tar(Entry{Name: "l", Type: tar.TypeSymlink, Linkname: outside}, Entry{Name: "l/.wh.keep"})},
		{Name: "overlay-xattr", Data: Tar(Entry{Name: "x", Body: []byte("x"), PAX: map[string]string{"SCHILY.xattr.trusted.overlay.redirect": outside}})},
		{Name: "gzip-bomb-16MiB", Data: GzipBomb("zeros", 16<<20)},
		{Name: "gzip-sparse", Data: Gzip(SparsePAX("gzbomb", tib)), MustRefuse: true},
		{Name: "truncated", Data: Tar(Entry{Name: "t", Body: bytes.Repeat([]byte("t"), 4096)})[:1024], MustRefuse: true},
		{Name: "garbage", Data: bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1024), MustRefuse: true},
	}
}

// negativeSize is a header whose size field holds a negative base-256
// number.
func negativeSize() []byte {
	h := rawHeader(rawFields{name: "neg", size: 0, typ: '0', mode: 0o644})
	for i := 124; i < 136; i++ {
		h[i] = 0xff
	}
	checksum(h)
	return append(h, make([]byte, 1024)...)
}

type rawFields struct {
	name string
	size int64
	typ  byte
	mode int64
	gnu  bool
}

// rawHeader encodes a ustar (or old GNU) header by hand, for what
// archive/tar refuses to write.
func rawHeader(f rawFields) []byte {
	h := make([]byte, 512)
	copy(h[0:100], f.name)
	putOctal(h[100:108], f.mode)
	putOctal(h[108:116], 0)
	putOctal(h[116:124], 0)
	putOctal(h[124:136], f.size)
	putOctal(h[136:148], 0)
	h[156] = f.typ
	if f.gnu {
		copy(h[257:265], "ustar  \x00")
	} else {
		copy(h[257:263], "ustar\x00")
		copy(h[263:265], "00")
	}
	checksum(h)
	return h
}

func putOctal(b []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	for len(s) < len(b)-1 {
		s = "0" + s
	}
	copy(b, s)
	b[len(b)-1] = 0
}

func checksum(h []byte) {
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	s := strconv.FormatInt(sum, 8)
	for len(s) < 6 {
		s = "0" + s
	}
	copy(h[148:154], s)
	h[154] = 0
	h[155] = ' '
}

func paxRecords(kvs [][2]string) []byte {
	var buf bytes.Buffer
	for _, kv := range kvs {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n = len(strconv.Itoa(n)) + len(rec)
		}
		buf.WriteString(strconv.Itoa(n) + rec)
	}
	return buf.Bytes()
}

func roundUp(n int64) int64 { return (n + 511) &^ 511 }

func pad(b []byte) []byte {
	out := make([]byte, roundUp(int64(len(b))))
	copy(out, b)
	return out
}

func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > 60 {
		name = name[:60]
	}
	return name
}
