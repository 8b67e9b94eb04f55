package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// Set once by TestMain; read-only afterwards.
var (
	// skipReason is non-empty when the machine cannot run the tests
	// (not root, no OCI runtime): every test then skips with it.
	skipReason string
	binDir     string // berthd, berth, berth-monitor built from this tree
	busyboxTar string // the starter image's rootfs (scripts/mkbusybox.sh)
	repoRoot   string
	dockerCLI  string // the real docker CLI, or "" when it is not installed
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if reason := environmentProblem(); reason != "" {
		skipReason = reason
		return m.Run()
	}
	work, err := os.MkdirTemp("", "berth-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(work)
	if err := prepare(work); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setup failed:", err)
		return 1
	}
	sweepStaleRuns()
	bridges := daemontest.LinksWithPrefix("br-")
	code := m.Run()
	closeSharedDaemons()
	reportNewBridges(bridges)
	if failedAfterRun && code == 0 {
		code = 1
	}
	if leaks := globalLeaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: resources left after the run:\n  %s\n", strings.Join(leaks, "\n  "))
		forceGlobalCleanup()
		if code == 0 {
			code = 1
		}
	}
	return code
}

func environmentProblem() string {
	if os.Geteuid() != 0 {
		return "end-to-end tests need root (run: sudo scripts/test.sh)"
	}
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err := exec.LookPath("crun"); err != nil {
			return "no OCI runtime (runc or crun) in PATH (run: sudo scripts/setup.sh --packages-only)"
		}
	}
	if _, err := os.Stat("/usr/bin/busybox"); err != nil {
		return "Debian's busybox-static is not installed (run: sudo scripts/setup.sh --packages-only)"
	}
	return ""
}

// buildVersion and buildCommit are what the Makefile stamps into the
// binaries the harness builds with it (internal/version).
var buildVersion, buildCommit string

// readVersion reads them as the Makefile does.
func readVersion() {
	v, _ := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	buildVersion = strings.TrimSpace(string(v))
	out, err := exec.Command("git", "-C", repoRoot, "rev-parse", "--short", "HEAD").Output()
	buildCommit = strings.TrimSpace(string(out))
	if err != nil || buildCommit == "" {
		buildCommit = "unknown"
	}
}

// prepare builds the binaries once and the busybox rootfs tarball once.
func prepare(work string) error {
	var err error
	if repoRoot, err = daemontest.RepoRoot(); err != nil {
		return err
	}
	binDir = filepath.Join(work, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var buildErr, tarErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		// berth-monitor must sit beside berthd: berthd looks there first;
		// berth-compose beside berth, for `berth compose`; berth-build
		// for builds with a client session.
		// berth-cmon beside them: the monitor of json-file, cri and none
		// containers. Built as the Makefile builds them (berth static).
		readVersion()
		buildErr = daemontest.MakeBuild(repoRoot, binDir, "berthd", "berth", "berth-compose", "berth-build", "berth-monitor", "berth-cmon")
	}()
	go func() {
		defer wg.Done()
		busyboxTar = filepath.Join(work, "busybox.tar")
		cmd := exec.Command(filepath.Join(repoRoot, "scripts", "mkbusybox.sh"), busyboxTar)
		if out, err := cmd.CombinedOutput(); err != nil {
			tarErr = fmt.Errorf("scripts/mkbusybox.sh: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	if buildErr != nil {
		return buildErr
	}
	if tarErr != nil {
		return tarErr
	}
	if p, err := exec.LookPath("docker"); err == nil {
		dockerCLI = p
	}
	return nil
}

// requireEnv skips t when the machine cannot run end-to-end tests.
func requireEnv(tb testing.TB) {
	tb.Helper()
	if skipReason != "" {
		tb.Skip(skipReason)
	}
}
