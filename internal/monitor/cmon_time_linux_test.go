package monitor_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCMonitorTimeFormat compares the C monitor's times (log lines, an
// exit's finishedAt), which it converts to a UTC date by hand, with Go's
// RFC3339Nano over the edges of days, months, leap years and centuries
// and random times up to the year 9999.
func TestCMonitorTimeFormat(t *testing.T) {
	var times []time.Time
	for _, s := range []string{
		"1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999999999Z",
		"2000-02-28T23:59:59Z", "2000-02-29T00:00:00Z", "2000-03-01T00:00:00Z",
		"2024-02-29T12:00:00.5Z", "2100-02-28T23:59:59Z", "2100-03-01T00:00:00Z",
		"2026-12-31T23:59:59.000000001Z", "9999-12-31T23:59:59.999999999Z",
	} {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, tm)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(253402300800), r.Int64N(1e9)))
	}
	var in, want bytes.Buffer
	for _, tm := range times {
		fmt.Fprintf(&in, "%d %d\n", tm.Unix(), tm.Nanosecond())
		want.WriteString(tm.UTC().Format(time.RFC3339Nano) + "\n")
	}
	cmd := exec.Command(cmonBinary(t), "--parse", "time")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("berth-cmon --parse time: %v", err)
	}
	got, exp := strings.Split(string(out), "\n"), strings.Split(want.String(), "\n")
	if len(got) != len(exp) {
		t.Fatalf("%d times written for %d", len(got)-1, len(exp)-1)
	}
	for i := range exp {
		if got[i] != exp[i] {
			t.Errorf("time %d: C monitor wrote %q, Go %q", i, got[i], exp[i])
		}
	}
}
