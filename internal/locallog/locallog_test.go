package locallog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/logfile"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 120000000, time.UTC)

// TestFrameMatchesDocker checks one entry byte for byte against the
// protobuf encoding of moby's LogEntry{source, time_nano, line, partial}
// framed by its big-endian length before and after.
func TestFrameMatchesDocker(t *testing.T) {
	got := Format.Append(nil, logfile.Entry{Stream: "stdout", Line: []byte("hi\n"), Time: time.Unix(0, 300)})
	want := []byte{
		0, 0, 0, 15, // length
		0x0a, 6, 's', 't', 'd', 'o', 'u', 't', // source = "stdout"
		0x10, 0xac, 0x02, // time_nano = 300
		0x1a, 2, 'h', 'i', // line = "hi" (no newline)
		0, 0, 0, 15, // length again
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
	part := Format.Append(nil, logfile.Entry{Stream: "stderr", Line: []byte("cut"), Time: time.Unix(0, 1)})
	if !bytes.Contains(part, []byte{0x20, 1}) {
		t.Fatalf("partial entry lacks partial=true: % x", part)
	}
}

func readAll(t *testing.T, p string, files int, o logfile.ReadOptions) string {
	t.Helper()
	var sb strings.Builder
	err := Read(context.Background(), p, files, o, func(e logfile.Entry) error {
		fmt.Fprintf(&sb, "%s:%s", e.Stream, e.Line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

func TestRoundTripPartialAndTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	w, err := NewWriter(p, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", logfile.MaxLineSize+10)
	w.Write("stdout", []byte("one\ntwo\n"), t0)
	w.Write("stderr", []byte("err\n"), t0.Add(time.Second))
	w.Write("stdout", []byte(long+"\n"), t0.Add(2*time.Second))
	w.Write("stdout", []byte("tail-no-newline"), t0.Add(3*time.Second))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	all := readAll(t, p, 1, logfile.ReadOptions{Tail: -1})
	want := "stdout:one\nstdout:two\nstderr:err\nstdout:" + long[:logfile.MaxLineSize] + "stdout:" + long[logfile.MaxLineSize:] + "\nstdout:tail-no-newline"
	if all != want {
		t.Fatalf("round trip:\n%.200q\nwant\n%.200q", all, want)
	}
	if got := readAll(t, p, 1, logfile.ReadOptions{Tail: 2}); got != "stdout:"+long[logfile.MaxLineSize:]+"\nstdout:tail-no-newline" {
		t.Fatalf("tail 2: %.100q", got)
	}
	if got := readAll(t, p, 1, logfile.ReadOptions{Tail: -1, Since: t0.Add(time.Second), Until: t0.Add(time.Second)}); got != "stderr:err\n" {
		t.Fatalf("since/until: %q", got)
	}
}

// TestRotationCompressed rotates by size with gzip, as the local driver's
// defaults do, and reads the tail across the compressed files.
func TestRotationCompressed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	w, err := NewWriter(p, 200, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if err := w.Write("stdout", []byte(fmt.Sprintf("line %02d\n", i)), t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileName, FileName + ".1.gz", FileName + ".2.gz"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{FileName + ".1", FileName + ".3.gz", FileName + ".1.gz.tmp"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s exists", name)
		}
	}
	all := readAll(t, p, 3, logfile.ReadOptions{Tail: -1})
	if !strings.HasSuffix(all, "stdout:line 59\n") || strings.Contains(all, "line 00") {
		t.Fatalf("all after rotation:\n%s", all)
	}
	n := strings.Count(all, "\n")
	for _, tail := range []int{1, 5, n - 1, n, n + 5} {
		got := readAll(t, p, 3, logfile.ReadOptions{Tail: tail})
		k := min(tail, n)
		lines := strings.SplitAfter(all, "\n")
		if want := strings.Join(lines[n-k:], ""); got != want {
			t.Errorf("tail %d:\n%s\nwant\n%s", tail, got, want)
		}
	}
}

func TestFollow(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	w, err := NewWriter(p, 100, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write("stdout", []byte("before\n"), t0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, p, 2, logfile.ReadOptions{Tail: -1, Follow: true}, func(e logfile.Entry) error {
			got <- string(e.Line)
			return nil
		})
	}()
	want := []string{"before\n"}
	for i := 0; i < 20; i++ {
		want = append(want, fmt.Sprintf("after %d\n", i))
	}
	for i, wl := range want {
		if i > 0 {
			w.Write("stdout", []byte(wl), t0)
		}
		select {
		case l := <-got:
			if l != wl {
				t.Fatalf("followed %q, want %q", l, wl)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no entry %q", wl)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// what it accepts re-encodes to a frame that decodes to the same entry.
func FuzzDecode(f *testing.F) {
	f.Add(Format.Append(nil, logfile.Entry{Stream: "stdout", Line: []byte("hi\n"), Time: t0}))
	f.Add(Format.Append(nil, logfile.Entry{Stream: "stderr", Line: []byte("part"), Time: t0}))
	f.Add([]byte{0, 0, 0, 2, 0x2a, 0, 0, 0, 0, 2})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &decoder{}
		var es []logfile.Entry
		d.Feed(data, func(e logfile.Entry) error { es = append(es, e); return nil })
		for _, e := range es {
			d2 := &decoder{}
			var back []logfile.Entry
			if err := d2.Feed(Format.Append(nil, e), func(e logfile.Entry) error { back = append(back, e); return nil }); err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if len(back) != 1 || back[0].Stream != e.Stream || !bytes.Equal(back[0].Line, e.Line) || !back[0].Time.Equal(e.Time) {
				t.Fatalf("re-decode %+v -> %+v", e, back)
			}
		}
	})
}

// TestTornLastFrame: a frame cut short by a crash does not stop reading,
// with or without --tail.
func TestTornLastFrame(t *testing.T) {
	p := filepath.Join(t.TempDir(), FileName)
	w, err := NewWriter(p, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		w.Write("stdout", []byte(fmt.Sprintf("l%d\n", i)), t0)
	}
	w.Close()
	frame := Format.Append(nil, logfile.Entry{Stream: "stdout", Line: []byte("torn\n"), Time: t0})
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(frame[:len(frame)-3])
	f.Close()
	if got := readAll(t, p, 1, logfile.ReadOptions{Tail: 2}); got != "stdout:l3\nstdout:l4\n" {
		t.Errorf("tail 2 with a torn frame: %q", got)
	}
	if got := readAll(t, p, 1, logfile.ReadOptions{Tail: 10}); !strings.HasPrefix(got, "stdout:l0\n") || !strings.HasSuffix(got, "stdout:l4\n") {
		t.Errorf("tail 10 with a torn frame: %q", got)
	}
	if got := readAll(t, p, 1, logfile.ReadOptions{Tail: -1}); strings.Count(got, "\n") != 5 {
		t.Errorf("all with a torn frame: %q", got)
	}
}

// TestLeftoverRotatedFileCompressed: a rotated file a dead writer left
// uncompressed is compressed by the next writer.
func TestLeftoverRotatedFileCompressed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	os.WriteFile(p+".1", Format.Append(nil, logfile.Entry{Stream: "stdout", Line: []byte("old\n"), Time: t0}), 0o640)
	w, err := NewWriter(p, 1000, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("new\n"), t0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p + ".1"); err == nil {
		t.Error("path.1 left uncompressed")
	}
	if got := readAll(t, p, 3, logfile.ReadOptions{Tail: -1}); got != "stdout:old\nstdout:new\n" {
		t.Errorf("read: %q", got)
	}
}
