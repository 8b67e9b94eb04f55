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
