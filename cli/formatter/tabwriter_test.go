package formatter

import (
	"bytes"
	"fmt"
	"testing"
	"text/tabwriter"
)

// countingWriter counts the Write calls that reach it (write(2)s on a
// real stdout).
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// TestTabWriterWritesInOnePiece checks that a 200-row table reaches the
// output in a few writes, aligned exactly as text/tabwriter aligns it.
func TestTabWriterWritesInOnePiece(t *testing.T) {
	var want bytes.Buffer
	plain := tabwriter.NewWriter(&want, 10, 1, 3, ' ', 0)
	out := &countingWriter{}
	tw := NewTabWriter(out, 10, 1, 3)
	for i := 0; i < 200; i++ {
		row := fmt.Sprintf("%012x\tbusybox\t\"sleep 1d\"\tUp %d minutes\tname_%d\n", i*7919, i, i)
		fmt.Fprint(plain, row)
		fmt.Fprint(tw, row)
	}
	plain.Flush()
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("output differs from text/tabwriter's:\n%s\nwant:\n%s", out.String(), want.String())
	}
	if out.writes > 4 {
		t.Errorf("%d writes for %d bytes; want the table in a few large writes", out.writes, out.Len())
	}
}

// tabwriterOutput is data aligned by text/tabwriter as NewTabWriter sets it.
func tabwriterOutput(data []byte, minwidth, padding int) string {
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, minwidth, 1, padding, ' ', 0)
	tw.Write(data)
	tw.Flush()
	return want.String()
}

// TestWriteTableMatchesTabwriter: WriteTable's own alignment and its
// fall-backs give text/tabwriter's bytes, in one write.
func TestWriteTableMatchesTabwriter(t *testing.T) {
	var ps bytes.Buffer
	ps.WriteString("CONTAINER ID\tIMAGE\tCOMMAND\tNAMES\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&ps, "%012x\tbusybox\t\"sleep %d\"\tnäme_%d\n", i*7919, i*i, i)
	}
	cases := map[string]string{
		"ps table":          ps.String(),
		"empty":             "",
		"one column":        "a\nbb\nccc\n",
		"empty cells":       "\t\tx\n\t\ty\n",
		"wide unicode":      "héllo wörld, ça va\tb\nc\td\n",
		"ragged (fallback)": "a\tb\tc\nd\te\nf\n",
		"no final newline":  "a\tb\nc\td",
		"vertical tab":      "a\vb\nc\td\n",
		"form feed":         "a\tb\fc\td\n",
		"escape byte":       "a\xffb\tc\xff\n\td\n",
	}
	for name, in := range cases {
		out := &countingWriter{}
		if err := WriteTable(out, []byte(in), 10, 3); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := tabwriterOutput([]byte(in), 10, 3); out.String() != want {
			t.Errorf("%s: got\n%q\nwant\n%q", name, out.String(), want)
		}
		if out.writes > 1 {
			t.Errorf("%s: %d writes, want at most one", name, out.writes)
		}
	}
}

// FuzzWriteTable: whatever the bytes, WriteTable writes what text/tabwriter
// writes.
func FuzzWriteTable(f *testing.F) {
	f.Add([]byte("ID\tNAME\nabc\tdef\n"), 10, 3)
	f.Add([]byte("a\tb\tc\nd\te\nf\n"), 0, 1)
	f.Add([]byte("x\xff\ty\n\t\n"), 20, 1)
	f.Fuzz(func(t *testing.T, data []byte, minwidth, padding int) {
		minwidth, padding = minwidth&63, padding&15
		var out bytes.Buffer
		if err := WriteTable(&out, data, minwidth, padding); err != nil {
			t.Fatal(err)
		}
		if want := tabwriterOutput(data, minwidth, padding); out.String() != want {
			t.Errorf("%q (minwidth %d, padding %d): got %q, want %q", data, minwidth, padding, out.String(), want)
		}
	})
}
