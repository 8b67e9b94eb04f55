package oneproc

import (
	"os"
	"runtime"
	"strconv"
	"testing"
)

// TestOneProc checks the package's initialisation left one P, or the
// environment's GOMAXPROCS when it sets one. (On a machine with one CPU
// the first case holds without this package.)
func TestOneProc(t *testing.T) {
	want := 1
	if v, set := os.LookupEnv("GOMAXPROCS"); set {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Skipf("GOMAXPROCS=%q is not a count", v)
		}
		want = n
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS = %d after init, want %d", got, want)
	}
}
