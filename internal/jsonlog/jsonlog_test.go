package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 120000000, time.UTC)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormatMatchesDocker(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	w, err := NewWriter(p, 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("hello <&> \"q\" \\ \t\x01 é \xff \u2028\n"), t0)
	w.Write("stderr", []byte("err\n"), t0.Add(time.Second))
	w.Close()
	want := `{"log":"hello \u003c\u0026\u003e \"q\" \\ \u0009\u0001 é \ufffd \u2028\n","stream":"stdout","time":"2024-05-06T07:08:09.12Z"}` + "\n" +
		`{"log":"err\n","stream":"stderr","time":"2024-05-06T07:08:10.12Z"}` + "\n"
	if got := readFile(t, p); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Standard JSON decoders read it back.
	var e struct{ Log, Stream string }
	json.Unmarshal([]byte(strings.SplitN(want, "\n", 2)[0]), &e)
	if e.Log != "hello <&> \"q\" \\ \t\x01 é \ufffd \u2028\n" || e.Stream != "stdout" {
		t.Fatalf("decoded %+v", e)
	}
}

func entries(t *testing.T, p string, maxFiles int, o ReadOptions) []Entry {
	t.Helper()
	var got []Entry
	err := Read(context.Background(), p, maxFiles, o, func(e Entry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func lines(es []Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s:%q ", e.Stream[:3], e.Line)
	}
	return strings.TrimSpace(b.String())
}

func TestLineSplitting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	w, _ := NewWriter(p, 0, 1, false)
	// A line split across reads becomes one entry, timed by its first read.
	w.Write("stdout", []byte("a1\npart"), t0)
	w.Write("stderr", []byte("e1\n"), t0.Add(time.Second))
	w.Write("stdout", []byte("ial\nb"), t0.Add(2*time.Second))
	// A line longer than MaxLineSize is cut into MaxLineSize entries.
	long := bytes.Repeat([]byte("x"), MaxLineSize*2+10)
	w.Write("stderr", append(long, '\n'), t0)
	// The unterminated tail is written at EOF, without newline.
	w.Flush("stdout")
	w.Close()
	got := entries(t, p, 1, ReadOptions{Tail: -1})
	if len(got) != 7 {
		t.Fatalf("%d entries: %s", len(got), lines(got))
	}
	if s := lines(got[:3]); s != `std:"a1\n" std:"e1\n" std:"partial\n"` {
		t.Fatalf("got %s", s)
	}
	if !got[2].Time.Equal(t0) || got[2].Stream != "stdout" {
		t.Fatalf("joined line %+v", got[2])
	}
	for i, n := range []int{MaxLineSize, MaxLineSize, 11} {
		if e := got[3+i]; len(e.Line) != n || e.Stream != "stderr" {
			t.Fatalf("long-line piece %d: %d bytes on %s", i, len(e.Line), e.Stream)
		}
	}
	if e := got[6]; string(e.Line) != "b" || e.Stream != "stdout" {
		t.Fatalf("EOF partial %+v", e)
	}
}

func writeN(t *testing.T, w *Writer, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := w.Write("stdout", []byte(fmt.Sprintf("line %03d\n", i)), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c-json.log")
	// Each entry is 72 bytes. As in Docker, a file is rotated once it has
	// reached max-size, so 300 bytes take 5 entries (360 bytes).
	w, _ := NewWriter(p, 300, 3, false)
	writeN(t, w, 0, 17)
	w.Close()
	for _, name := range []string{"c-json.log", "c-json.log.1", "c-json.log.2"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 360 {
			t.Fatalf("%s is %d bytes, more than one entry over max-size", name, st.Size())
		}
	}
	if _, err := os.Stat(p + ".3"); !os.IsNotExist(err) {
		t.Fatalf("max-file 3 kept a fourth file: %v", err)
	}
	got := entries(t, p, 3, ReadOptions{Tail: -1})
	// 17 lines, 5 per file, 3 files kept: the oldest file (0-4) is gone.
	if len(got) != 12 || string(got[0].Line) != "line 005\n" || string(got[11].Line) != "line 016\n" {
		t.Fatalf("after rotation: %s", lines(got))
	}
	for i := 1; i < len(got); i++ {
		if !got[i].Time.After(got[i-1].Time) {
			t.Fatalf("out of order at %d: %s", i, lines(got))
		}
	}
	// max-file 1 truncates in place.
	p1 := filepath.Join(dir, "one.log")
	w1, _ := NewWriter(p1, 300, 1, false)
	writeN(t, w1, 0, 6)
	w1.Close()
	if got := entries(t, p1, 1, ReadOptions{Tail: -1}); lines(got) != `std:"line 005\n"` {
		t.Fatalf("max-file 1: %s", lines(got))
	}
}

func TestTailSinceUntil(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	w, _ := NewWriter(p, 300, 5, false)
	writeN(t, w, 0, 10) // spread over 3 files
	w.Close()
	for _, tc := range []struct {
		o    ReadOptions
		want string
	}{
		{ReadOptions{Tail: 3}, "007 008 009"},
		{ReadOptions{Tail: 6}, "004 005 006 007 008 009"}, // crosses files
		{ReadOptions{Tail: 0}, ""},
		{ReadOptions{Tail: 100}, "000 001 002 003 004 005 006 007 008 009"},
		{ReadOptions{Tail: -1, Since: t0.Add(7 * time.Second)}, "007 008 009"},
		{ReadOptions{Tail: -1, Until: t0.Add(2 * time.Second)}, "000 001 002"},
		{ReadOptions{Tail: 5, Since: t0.Add(3 * time.Second), Until: t0.Add(6 * time.Second)}, "005 006"},
	} {
		var nums []string
		for _, e := range entries(t, p, 5, tc.o) {
			nums = append(nums, strings.TrimSpace(strings.TrimPrefix(string(e.Line), "line ")))
		}
		if got := strings.Join(nums, " "); got != tc.want {
			t.Errorf("%+v: got %q want %q", tc.o, got, tc.want)
		}
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	w, _ := NewWriter(p, 300, 2, false)
	writeN(t, w, 0, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, p, 2, ReadOptions{Tail: 1, Follow: true}, func(e Entry) error {
			got <- string(e.Line)
			return nil
		})
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("got %q want %q", s, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %q", want)
		}
	}
	expect("line 001\n")
	// Written after the reader reached the end, over two rotations.
	for i := 2; i < 12; i++ {
		writeN(t, w, i, i+1)
		expect(fmt.Sprintf("line %03d\n", i))
	}
	// Lines written just before the cancel are still delivered.
	writeN(t, w, 12, 14)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(got)
	var rest []string
	for s := range got {
		rest = append(rest, s)
	}
	if strings.Join(rest, "") != "line 012\nline 013\n" {
		t.Fatalf("after cancel got %q", rest)
	}
	w.Close()
}

func TestFollowFileNotYetCreated(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	go Read(ctx, p, 1, ReadOptions{Tail: -1, Follow: true}, func(e Entry) error {
		got <- string(e.Line)
		return nil
	})
	time.Sleep(50 * time.Millisecond) // let the reader find no file
	w, _ := NewWriter(p, 0, 1, false)
	defer w.Close()
	w.Write("stdout", []byte("first\n"), t0)
	select {
	case s := <-got:
		if s != "first\n" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not pick up the new file")
	}
}

func TestEmitErrorStops(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c-json.log")
	w, _ := NewWriter(p, 0, 1, false)
	writeN(t, w, 0, 5)
	w.Close()
	n := 0
	stop := fmt.Errorf("client gone")
	err := Read(context.Background(), p, 1, ReadOptions{Tail: -1, Follow: true}, func(Entry) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("Read = %v after %d entries", err, n)
	}
}
