package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// Docker's default seccomp profile holds the same under every path that
// installs it: compiled by crun from the spec (the profile's first
// container), handed to crun precompiled (later containers), and compiled
// by runc. Calls denied by number and by argument (personality values,
// clone's namespace flags) get the profile's errno, allowed ones work.
func TestSeccompFilterEquivalence(t *testing.T) {
	d := startDaemon(t) // its own filter cache: the first container compiles
	b := d.Berth()
	if rt := b.Must(t, "info", "--format", "{{.DefaultRuntime}}"); rt != "crun" {
		t.Skipf("default runtime %s: precompiled filters are crun's", rt)
	}
	probeDir := t.TempDir()
	if err := daemontest.Build(repoRoot, probeDir, "", "./tests/e2e/testdata/seccompprobe"); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(probeDir, "seccompprobe") + ":/probe:ro"
	// EPERM (1) where the profile denies, ENOSYS (38) for clone3.
	const want = "personality-linux32=0\npersonality-linux32-norandom=1\nclone-plain=0\nclone-newuts=1\nclone3=38\nadd_key=1\ngetpid=0"

	// probe runs the probe in a new container that then stays up, and
	// returns its output and whether crun was handed a precompiled filter.
	probe := func(name string, args ...string) (string, bool) {
		t.Helper()
		run := append([]string{"run", "-d", "--name", name, "-v", vol}, args...)
		b.Must(t, append(run, "busybox", "sh", "-c", "/probe >/tmp/out; touch /tmp/done; sleep 1d")...)
		t.Cleanup(func() { b.Run(t, "rm", "-f", name) })
		eventually(t, 20*time.Second, func() error {
			if b.Run(t, "exec", name, "test", "-e", "/tmp/done").Exit != 0 {
				return errors.New(name + ": the probe has not finished")
			}
			return nil
		})
		id := b.Must(t, "inspect", "--format", "{{.Id}}", name)
		spec, err := os.ReadFile(filepath.Join(d.ExecRoot, "containers", id, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		return b.Must(t, "exec", name, "cat", "/tmp/out"), strings.Contains(string(spec), "run.oci.seccomp_bpf_data")
	}

	out, pre := probe("compiled")
	if pre {
		t.Fatal("the first container of a fresh daemon was handed a precompiled filter")
	}
	if out != want {
		t.Errorf("filter compiled by crun:\n%s\nwant\n%s", out, want)
	}
	out, pre = probe("precompiled")
	if !pre {
		t.Fatal("a later container was not handed the precompiled filter")
	}
	if out != want {
		t.Errorf("precompiled filter:\n%s\nwant\n%s", out, want)
	}
	if r := b.Run(t, "info", "--format", "{{json .Runtimes}}"); !strings.Contains(r.Stdout, `"runc"`) {
		t.Skip("no runc to compare with")
	}
	if out, pre = probe("runc", "--runtime", "runc"); pre || out != want {
		t.Errorf("filter compiled by runc (annotation %v):\n%s\nwant\n%s", pre, out, want)
	}
	// With CAP_SYS_ADMIN the profile lets namespace flags through, in
	// both crun paths.
	const wantAdmin = "personality-linux32=0\npersonality-linux32-norandom=1\nclone-plain=0\nclone-newuts=0\nclone3=0\nadd_key=1\ngetpid=0"
	if out, pre = probe("admin-compiled", "--cap-add", "SYS_ADMIN"); pre || out != wantAdmin {
		t.Errorf("filter compiled by crun with CAP_SYS_ADMIN (annotation %v):\n%s\nwant\n%s", pre, out, wantAdmin)
	}
	if out, pre = probe("admin-precompiled", "--cap-add", "SYS_ADMIN"); !pre || out != wantAdmin {
		t.Errorf("precompiled filter with CAP_SYS_ADMIN (annotation %v):\n%s\nwant\n%s", pre, out, wantAdmin)
	}
}
