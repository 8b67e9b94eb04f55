package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeWrk puts a wrk on PATH that appends each URL it is given to calls and
// reports the next figure of its URL's list ($FAKE_DIRECT or
// $FAKE_PUBLISHED) as Requests/sec, or no figure once the list is used up.
func fakeWrk(t *testing.T) (dir, calls string) {
	t.Helper()
	dir = t.TempDir()
	calls = filepath.Join(dir, "calls")
	script := `#!/bin/sh
for a; do url="$a"; done
echo "$url" >>"$FAKE_CALLS"
case "$url" in *direct*) list="$FAKE_DIRECT" ;; *) list="$FAKE_PUBLISHED" ;; esac
k=$(grep -cxF "$url" "$FAKE_CALLS")
set -- $list
[ "$k" -le $# ] || { echo "unable to connect"; exit 1; }
eval "v=\${$k}"
echo "Requests/sec:   $v.37"
`
	if err := os.WriteFile(filepath.Join(dir, "wrk"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, calls
}

// publishedRound runs bench/lib.sh's published_round against the fake wrk
// and returns its output, whether it succeeded, and the URLs wrk was given
// in order.
func publishedRound(t *testing.T, direct, published string) (string, bool, []string) {
	t.Helper()
	bin, calls := fakeWrk(t)
	work := t.TempDir()
	cmd := exec.Command("bash", "-c", `source bench/lib.sh; published_round http://direct/ http://published/ 1`)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "work="+work,
		"FAKE_CALLS="+calls, "FAKE_DIRECT="+direct, "FAKE_PUBLISHED="+published)
	out, err := cmd.Output()
	got, _ := os.ReadFile(calls)
	return string(out), err == nil, strings.Fields(string(got))
}

// TestPublishedRoundOrderAndRatio: a round runs wrk direct, published,
// published, direct (a load drifting through the round weighs on both
// sides alike) and gives each side's mean and the ratio of the sums.
func TestPublishedRoundOrderAndRatio(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, ok, urls := publishedRound(t, "1000 3000", "1900 1700")
	if !ok {
		t.Fatalf("published_round failed: %q", out)
	}
	want := []string{"http://direct/", "http://published/", "http://published/", "http://direct/"}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("wrk ran %v, want %v", urls, want)
	}
	// direct (1000 + 3000) / 2, published (1900 + 1700) / 2, 3600 / 4000.
	if strings.TrimSpace(out) != "2000 1800 90.0" {
		t.Errorf("published_round printed %q, want %q", out, "2000 1800 90.0")
	}
}

// TestPublishedRoundNoFigure: a wrk run without a figure fails the round
// rather than giving a ratio of what is left.
func TestPublishedRoundNoFigure(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, ok, _ := publishedRound(t, "1000", "1900 1700")
	if ok || out != "" {
		t.Errorf("published_round with the last direct run failing: ok %v, printed %q; want a failure and nothing", ok, out)
	}
}
