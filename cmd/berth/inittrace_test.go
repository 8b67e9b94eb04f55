package main

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Bounds on what package initialisation allocates before any berth
// command runs (GODEBUG=inittrace=1 counts bytes, not time, so the test
// does not depend on the machine's load). Before the CLI had its own API
// client, init allocated 574 kB, 414 kB of it distribution/reference's
// regular expressions; now about 155 kB, most of it go-digest's (linked
// by the moby API types).
const (
	maxInitBytesPerPackage = 128 << 10
	maxInitBytesTotal      = 256 << 10
	// Berth's own packages do no real work at initialisation: tables
	// (header titles, template functions) are built by functions when a
	// command uses them, not as package-level maps (cli/formatter's
	// allocated 3.5 kB in every command).
	maxInitBytesOwnPackage = 1 << 10
)

// TestStartupInitIsSmall runs `berth --version` with inittrace and checks
// the bounds above, and that none of the packages whose start-up cost
// was removed is initialised again.
func TestStartupInitIsSmall(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	bin := filepath.Join(t.TempDir(), "berth")
	// The test's own build settings (cgo or not changes nothing here,
	// and keeps the build cached).
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("berth --version: %v\n%s", err, stderr.String())
	}
	inits := parseInitTrace(t, stderr.String())
	if len(inits) == 0 {
		t.Fatalf("no init trace in:\n%s", stderr.String())
	}
	total := 0
	for pkg, n := range inits {
		total += n
		switch {
		case strings.HasPrefix(pkg, "go.opentelemetry.io/"), pkg == "github.com/distribution/reference",
			strings.HasPrefix(pkg, "github.com/moby/moby/client"):
			t.Errorf("package %s is initialised at start-up", pkg)
		case n > maxInitBytesPerPackage:
			t.Errorf("init of %s allocates %d bytes, more than %d", pkg, n, maxInitBytesPerPackage)
		case pkg == oneprocPkg:
			// Its allocation is syscall's copy of the environment,
			// made at the first Getenv of any package.
		case pkg == slackmonPkg:
			// It finds the monitor thread with a stat, or, when
			// another process took the thread ID after berth's,
			// by listing /proc/self/task (11 kB).
		case strings.HasPrefix(pkg, "github.com/berth-dev/") && n > maxInitBytesOwnPackage:
			t.Errorf("init of %s allocates %d bytes, more than %d: do the work lazily", pkg, n, maxInitBytesOwnPackage)
		}
	}
	if total > maxInitBytesTotal {
		t.Errorf("package initialisation allocates %d bytes in all, more than %d", total, maxInitBytesTotal)
	}
	if _, ok := inits[oneprocPkg]; !ok {
		t.Errorf("%s is not initialised in berth: the client runs on every CPU's P", oneprocPkg)
	}
	checkGODEBUG(t, bin)
	checkNoMemProfile(t, bin)
}

// checkNoMemProfile checks that bin does not link runtime.MemProfile: the
// linker then turns heap profiling off before main (MemProfileRate 0), so
// no allocation of a berth command records its stack (an unwind through
// the pclntab, which faults its pages in). A package that can write a
// heap profile (runtime/pprof) linked by accident fails here.
func checkNoMemProfile(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("reading %s: %v", bin, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("symbols of %s: %v", bin, err)
	}
	for _, s := range syms {
		if s.Name == "runtime.MemProfile" {
			t.Errorf("berth links runtime.MemProfile: heap profiling stays on in every command")
		}
	}
}

// slackmonPkg gives the runtime's monitor thread timer slack at
// initialisation (main imports it).
const slackmonPkg = "github.com/berth-dev/berth/cmd/berth/internal/slackmon"

// oneprocPkg sets GOMAXPROCS to 1 at initialisation (main imports it).
const oneprocPkg = "github.com/berth-dev/berth/cmd/berth/internal/oneproc"

// startupGODEBUG are the GODEBUG defaults main.go's //go:debug lines give
// the berth binary (the runtime's GOMAXPROCS updater goroutine, a prctl
// per mapping).
var startupGODEBUG = []string{"updatemaxprocs=0", "decoratemappings=0"}

// checkGODEBUG checks that bin was built with startupGODEBUG.
func checkGODEBUG(t *testing.T, bin string) {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("build info of %s: %v", bin, err)
	}
	var defaults string
	for _, s := range info.Settings {
		if s.Key == "DefaultGODEBUG" {
			defaults = s.Value
		}
	}
	for _, want := range startupGODEBUG {
		if !slices.Contains(strings.Split(defaults, ","), want) {
			t.Errorf("berth's DefaultGODEBUG %q lacks %s", defaults, want)
		}
	}
}

// parseInitTrace maps each package of "init PKG @T ms, C ms clock, N
// bytes, A allocs" lines to N.
func parseInitTrace(t *testing.T, s string) map[string]int {
	inits := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("bad inittrace line %q", sc.Text())
		}
		inits[f[1]] += n
	}
	return inits
}
