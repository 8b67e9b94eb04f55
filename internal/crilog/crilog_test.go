package crilog

import (
	"bytes"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/logfile"
)

func TestRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 4, 30, 0, 123456789, time.UTC)
	in := []logfile.Entry{
		{Stream: "stdout", Line: []byte("hello world\n"), Time: t0},
		{Stream: "stderr", Line: []byte("part"), Time: t0.Add(time.Second)},
		{Stream: "stdout", Line: []byte("\n"), Time: t0},
	}
	var b []byte
	for _, e := range in {
		b = AppendEntry(b, e)
	}
	want := "2026-12-06T04:30:00.123456789Z stdout F hello world\n" +
		"2026-12-06T04:30:01.123456789Z stderr P part\n" +
		"2026-12-06T04:30:00.123456789Z stdout F \n"
	if string(b) != want {
		t.Fatalf("encoded:\n%q\nwant\n%q", b, want)
	}
	var out []logfile.Entry
	d := Format.NewDecoder()
	// Feed in two pieces: the decoder must join a line split across reads.
	emit := func(e logfile.Entry) error { out = append(out, e); return nil }
	if err := d.Feed(b[:40], emit); err != nil {
		t.Fatal(err)
	}
	if err := d.Feed(b[40:], emit); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d entries, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Stream != in[i].Stream || !bytes.Equal(out[i].Line, in[i].Line) || !out[i].Time.Equal(in[i].Time) {
			t.Errorf("entry %d: got %+v want %+v", i, out[i], in[i])
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("2026-12-06T04:30:00.123456789Z stdout F hello\n"))
	f.Add([]byte("garbage\nx y z\n2026-12-06T04:30:00Z stderr P\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Format.NewDecoder()
		_ = d.Feed(b, func(e logfile.Entry) error {
			// Whatever decodes must encode to a line that decodes the same.
			var again []logfile.Entry
			enc := AppendEntry(nil, e)
			_ = Format.NewDecoder().Feed(enc, func(e2 logfile.Entry) error { again = append(again, e2); return nil })
			if len(again) != 1 || !bytes.Equal(again[0].Line, e.Line) || again[0].Stream != e.Stream {
				t.Fatalf("re-encode of %+v gave %q", e, enc)
			}
			return nil
		})
	})
}
