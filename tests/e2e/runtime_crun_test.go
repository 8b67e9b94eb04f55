package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/engine/runtime"
)

// crunChoice starts a daemon with env added to berthd's, checks that
// `berth info` and `docker info` name want as crun's binary with a note
// saying why, that a container runs and that crun ran from a read-only
// bind mount of that very file.
func crunChoice(t *testing.T, env []string, want, why string) {
	d := newStoppedDaemon(t)
	d.Env = env
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	eachCLI(t, d, func(t *testing.T, c CLI) {
		if got := c.Must(t, "info", "--format", `{{(index .Runtimes "crun").Path}}`); got != want {
			t.Errorf("%s info: crun is %q, want %q", c.Name, got, want)
		}
		if got := c.Must(t, "info", "--format", "{{.DefaultRuntime}}"); got != "crun" {
			t.Errorf("%s info: default runtime %q, want crun", c.Name, got)
		}
		if w := c.Must(t, "info", "--format", "{{json .Warnings}}"); !strings.Contains(w, "runtime crun: "+want+" (crun ") || !strings.Contains(w, why) {
			t.Errorf("%s info: no note that crun is %s because %q: %s", c.Name, want, why, w)
		}
	})
	b := d.Berth()
	if out := b.Must(t, "run", "--rm", "busybox", "echo", "crun-ok"); out != "crun-ok" {
		t.Fatalf("run --rm: %q", out)
	}
	var pinned, bin syscall.Stat_t
	if err := syscall.Stat(filepath.Join(d.ExecRoot, "runtime", "crun-bin", "crun"), &pinned); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(want, &bin); err != nil {
		t.Fatal(err)
	}
	if pinned.Ino != bin.Ino || pinned.Dev != bin.Dev {
		t.Errorf("crun ran from a copy of another file than %s", want)
	}
}

// berthd runs Berth's own crun build (scripts/build-crun.sh) when it is
// installed, and says so in info.
func TestCrunLeanBuildChosen(t *testing.T) {
	requireEnv(t)
	if _, err := os.Stat(runtime.LeanCrunPath); err != nil {
		t.Skipf("Berth's crun build is not installed (scripts/build-crun.sh): %v", err)
	}
	crunChoice(t, nil, runtime.LeanCrunPath, "Berth's build of Debian's crun source")
}

// Without Berth's build, berthd runs Debian's crun from PATH and says why.
func TestCrunFallbackToPath(t *testing.T) {
	requireEnv(t)
	debian, err := exec.LookPath("crun")
	if err != nil {
		t.Skip("no crun in PATH")
	}
	missing := filepath.Join(t.TempDir(), "crun")
	crunChoice(t, []string{"BERTH_CRUN=" + missing}, debian, "Berth's build "+missing+" is not installed")
}

// daemon.json's "runtimes" entry for crun still chooses its binary over
// Berth's build, and info does not claim the build runs.
func TestCrunConfigOverridesLeanBuild(t *testing.T) {
	requireEnv(t)
	debian, err := exec.LookPath("crun")
	if err != nil {
		t.Skip("no crun in PATH")
	}
	d := newStoppedDaemon(t)
	d.addConfig(t, map[string]any{"runtimes": map[string]any{"crun": map[string]any{"path": debian}}})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	b := d.Berth()
	if got := b.Must(t, "info", "--format", `{{(index .Runtimes "crun").Path}}`); got != debian {
		t.Errorf("info: crun is %q, want daemon.json's %q", got, debian)
	}
	if w := b.Must(t, "info", "--format", "{{json .Warnings}}"); strings.Contains(w, "runtime crun: ") {
		t.Errorf("info notes a crun choice that daemon.json overrode: %s", w)
	}
}
