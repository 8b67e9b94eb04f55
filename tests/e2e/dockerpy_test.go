package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerPySDK drives berthd with the real Python docker SDK (Debian's
// python3-docker): the inspect and info keys it reads, short TTY execs
// (issue 19's loop), gzip'd put_archive, filters, and events with the
// status/id/from keys it reads.
func TestDockerPySDK(t *testing.T) {
	requireEnv(t)
	if err := exec.Command("python3", "-c", "import docker").Run(); err != nil {
		t.Skip("the Python docker SDK is not installed (scripts/setup.sh installs python3-docker)")
	}
	t.Parallel()
	d := startDaemon(t)
	script := filepath.Join(repoRoot, "tests", "e2e", "testdata", "dockerpy_check.py")
	out, err := exec.Command("python3", script, "unix://"+d.Sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "docker-py: all checks passed") {
		t.Fatalf("docker-py checks failed: %v\n%s\nberthd log:\n%s", err, out, d.LogTail(30))
	}
}
