package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A seccomp profile compiled once is handed to crun precompiled afterwards
// (run.oci.seccomp_bpf_data); the filter must hold exactly as before: in
// the first container, in later ones, and in exec'd processes.
func TestSeccompPrecompiledFilter(t *testing.T) {
	d := sharedDaemon(t, "service")
	b := d.Berth()
	if rt := b.Must(t, "info", "--format", "{{.DefaultRuntime}}"); rt != "crun" {
		t.Skipf("default runtime %s: precompiled filters are crun's", rt)
	}
	profile := filepath.Join(t.TempDir(), "nomkdir.json")
	// Unique to this test, so its first container really compiles it.
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW",
		"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","comment":"TestSeccompPrecompiledFilter"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := "seccomp=" + profile
	denied := func(what string, r Result) {
		t.Helper()
		if r.Exit == 0 || !strings.Contains(r.Stdout+r.Stderr, "Operation not permitted") {
			t.Errorf("%s: mkdir was not denied by the profile: %s", what, r)
		}
	}
	cache := filepath.Join(d.ExecRoot, "runtime", "crun-seccomp")
	before, _ := filepath.Glob(filepath.Join(cache, "*.bpf"))

	denied("first container", b.Run(t, "run", "--rm", "--security-opt", opt, "busybox", "mkdir", "/tmp/x"))
	after, _ := filepath.Glob(filepath.Join(cache, "*.bpf"))
	if len(after) != len(before)+1 {
		t.Fatalf("filters cached in %s: %d before, %d after a new profile's first container", cache, len(before), len(after))
	}
	denied("second container", b.Run(t, "run", "--rm", "--security-opt", opt, "busybox", "mkdir", "/tmp/x"))

	b.Must(t, "run", "-d", "--name", "sccache", "--security-opt", opt, "busybox", "sleep", "1d")
	defer b.Run(t, "rm", "-f", "sccache")
	id := b.Must(t, "inspect", "--format", "{{.Id}}", "sccache")
	spec, err := os.ReadFile(filepath.Join(d.ExecRoot, "containers", id, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(spec), "run.oci.seccomp_bpf_data") {
		t.Error("a container with a cached profile was not handed the precompiled filter")
	}
	// crun compiles nothing then: the rules are left out, the section kept.
	var cfg struct {
		Linux struct {
			Seccomp *struct {
				DefaultAction string
				Syscalls      []json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(spec, &cfg); err != nil {
		t.Fatal(err)
	}
	if sc := cfg.Linux.Seccomp; sc == nil || sc.DefaultAction != "SCMP_ACT_ALLOW" || sc.Syscalls != nil {
		t.Errorf("seccomp section handed with the precompiled filter: %+v", sc)
	}
	denied("exec in a container started with the precompiled filter", b.Run(t, "exec", "sccache", "mkdir", "/tmp/y"))
	if out := b.Must(t, "exec", "sccache", "grep", "Seccomp:", "/proc/self/status"); !strings.HasSuffix(out, "2") {
		t.Errorf("exec'd process: %q, want seccomp mode 2 (filter)", out)
	}
	if out := b.Must(t, "exec", "sccache", "sh", "-c", "touch /tmp/f && echo ok"); out != "ok" {
		t.Errorf("a syscall the profile allows failed: %q", out)
	}
}
