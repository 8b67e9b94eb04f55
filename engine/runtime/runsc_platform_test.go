package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeKVMHost is a KVM device (a plain file opens read-write as /dev/kvm
// does) and a module directory holding the given modules.
func fakeKVMHost(t *testing.T, modules ...string) kvmHost {
	t.Helper()
	dir := t.TempDir()
	h := kvmHost{Dev: filepath.Join(dir, "kvm"), SysModule: filepath.Join(dir, "module")}
	if err := os.WriteFile(h.Dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, m := range append([]string{"kvm"}, modules...) {
		if err := os.MkdirAll(filepath.Join(h.SysModule, m), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// fakeRunsc writes an executable script standing for runsc.
func fakeRunsc(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "runsc")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChoosePlatformWithoutProbe(t *testing.T) {
	runsc := fakeRunsc(t, "exit 0")
	cache := filepath.Join(t.TempDir(), platformCacheName)
	missing := fakeKVMHost(t)
	missing.Dev += ".missing"
	for _, tc := range []struct {
		name string
		h    kvmHost
		why  string
	}{
		{"no device", missing, "cannot be opened"},
		{"PVM", fakeKVMHost(t, "kvm_pvm"), "PVM"},
	} {
		pc := choosePlatform(tc.h, runsc, cache)
		if pc.Platform != "systrap" || pc.Probe || !strings.Contains(pc.Why, tc.why) {
			t.Errorf("%s: choice %+v, want systrap without probe because %q", tc.name, pc, tc.why)
		}
	}
	// PVM beside a hardware module is not PVM's KVM.
	if pc := choosePlatform(fakeKVMHost(t, "kvm_pvm", "kvm_intel"), runsc, cache); !pc.Probe {
		t.Errorf("kvm_pvm with kvm_intel: choice %+v, want a probe", pc)
	}
}

// Without a verdict berthd uses systrap and probes; a cached verdict for the
// same inputs is used as it is; a new runsc binary or KVM node voids it.
func TestChoosePlatformCache(t *testing.T) {
	h := fakeKVMHost(t, "kvm_amd")
	runsc := fakeRunsc(t, "exit 0")
	cache := filepath.Join(t.TempDir(), "data", platformCacheName)
	pc := choosePlatform(h, runsc, cache)
	if pc.Platform != "systrap" || !pc.Probe || pc.Key == "" {
		t.Fatalf("no verdict: choice %+v, want systrap and a probe", pc)
	}
	for _, probeErr := range []error{nil, context.DeadlineExceeded} {
		v := verdictOf(pc.Key, probeErr)
		if err := writeVerdict(cache, v); err != nil {
			t.Fatal(err)
		}
		got := choosePlatform(h, runsc, cache)
		if got.Probe || got.Platform != v.Platform || !strings.Contains(got.Why, v.Why) {
			t.Errorf("cached %+v: choice %+v", v, got)
		}
	}
	if v := verdictOf(pc.Key, nil); v.Platform != "kvm" {
		t.Errorf("a passed probe's verdict is %+v, want kvm", v)
	}
	if err := writeVerdict(cache, verdictOf(pc.Key, nil)); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for _, changed := range []string{runsc, h.Dev} {
		if err := os.Chtimes(changed, later, later); err != nil {
			t.Fatal(err)
		}
		if got := choosePlatform(h, runsc, cache); got.Platform != "systrap" || !got.Probe || got.Key == pc.Key {
			t.Errorf("after %s changed: choice %+v, want systrap and a new probe", changed, got)
		}
	}
	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := choosePlatform(h, runsc, cache); got.Platform != "systrap" || !got.Probe {
		t.Errorf("unreadable cache: choice %+v, want systrap and a probe", got)
	}
}

func TestProbeKVMOutcomes(t *testing.T) {
	ok := fakeRunsc(t, `case "$*" in *--platform=kvm*"do true"*) exit 0;; esac; exit 9`)
	dir := filepath.Join(t.TempDir(), "probe")
	if err := probeKVM(context.Background(), ok, dir, time.Minute); err != nil {
		t.Errorf("probe with a runsc that starts: %v", err)
	}
	bad := fakeRunsc(t, `echo "creating container: KVM_RUN failed" >&2; exit 1`)
	err := probeKVM(context.Background(), bad, dir, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "KVM_RUN failed") {
		t.Errorf("probe with a runsc that fails: %v, want its message", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("probe dir left behind: %v", err)
	}
}

// A runsc that hangs on KVM, with a "sandbox" in a session of its own as
// runsc's is: the probe gives up (deadline or cancel), kills both and
// removes its directory.
func TestProbeKVMHangs(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	hang := fakeRunsc(t, `mkdir -p "$TMPDIR/runsc-do1" && touch "$TMPDIR/runsc-do1/log"
setsid sh -c 'touch `+started+`; exec tail -f "$0"' "$TMPDIR/runsc-do1/log" &
exec sleep 600`)
	dir := filepath.Join(t.TempDir(), "probe")
	for _, name := range []string{"deadline", "cancel"} {
		os.Remove(started)
		ctx, cancel := context.WithCancel(context.Background())
		limit := 2 * time.Second
		if name == "cancel" {
			limit = time.Hour
			go func() {
				waitFor(t, "the fake runsc to start", func() bool { _, err := os.Stat(started); return err == nil })
				cancel()
			}()
		}
		err := probeKVM(ctx, hang, dir, limit)
		cancel()
		if err == nil || name == "deadline" && !strings.Contains(err.Error(), "did not start within") {
			t.Errorf("%s: probe of a hanging runsc: %v", name, err)
		}
		waitFor(t, "the processes the probe started to die", func() bool { return len(livingUnder(dir)) == 0 })
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: probe dir left behind: %v", name, err)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	for i := 0; i < 6000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("gave up waiting for %s", what)
}

// livingUnder lists the processes, zombies aside, whose command line names dir.
func livingUnder(dir string) []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		stat, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if strings.Contains(string(cmdline), dir) && !strings.Contains(string(stat), ") Z ") {
			out = append(out, p.Name())
		}
	}
	return out
}

// runProbe caches the verdict where choosePlatform reads it.
func TestRunProbeCaches(t *testing.T) {
	h := fakeKVMHost(t)
	runsc := fakeRunsc(t, "exit 0")
	cache := filepath.Join(t.TempDir(), platformCacheName)
	pc := choosePlatform(h, runsc, cache)
	var told []string
	runProbe(context.Background(), runsc, filepath.Join(t.TempDir(), "probe"), cache, pc.Key, func(s string) { told = append(told, s) })
	if got := choosePlatform(h, runsc, cache); got.Platform != "kvm" || got.Probe {
		t.Errorf("after a passing probe: choice %+v, want kvm", got)
	}
	if len(told) != 1 || !strings.Contains(told[0], "platform kvm") {
		t.Errorf("notified %q", told)
	}
}
