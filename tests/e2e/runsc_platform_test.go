package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A host whose /dev/kvm opens but on which a KVM sandbox never starts (a
// PVM or nested guest): berthd must not choose kvm for that. Here runsc is a
// wrapper that hangs on --platform=kvm, and berthd is shown a module
// directory without kvm_pvm so that it runs its probe (on a PVM host it
// would skip it). Sandboxed containers run on systrap while the probe runs
// and after, the probe is killed at its deadline, its verdict cached and
// used by the next start. Before the fix berthd chose kvm because /dev/kvm
// opened, and the sandboxed `run` hung.
func TestSandboxPlatformProbeFallsBack(t *testing.T) {
	requireRunsc(t)
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		t.Skip("/dev/kvm does not open here: berthd uses systrap without probing")
	} else {
		f.Close()
	}
	d := newStoppedDaemon(t)
	bin, modules := filepath.Join(d.Root, "wrap"), filepath.Join(d.Root, "module")
	real := "/usr/local/bin/runsc"
	wrapper := "#!/bin/sh\ncase \" $* \" in *\" --platform=kvm \"*) exec sleep 3600;; esac\nexec " + real + " \"$@\"\n"
	for _, dir := range []string{bin, filepath.Join(modules, "kvm")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "runsc"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	d.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "BERTH_TEST_SYS_MODULE=" + modules}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	c := d.Berth()
	if info := c.Run(t, "info"); !strings.Contains(info.Stdout+info.Stderr, "on platform systrap: /dev/kvm is present; a KVM sandbox probe runs in the background") {
		t.Errorf("info while probing does not say systrap and why:\n%s%s", info.Stdout, info.Stderr)
	}
	if out := c.Must(t, "run", "--rm", "--isolation=sandbox", "busybox", "echo", "sandboxed"); out != "sandboxed" {
		t.Errorf("sandboxed run while probing printed %q", out)
	}
	cache := filepath.Join(d.DataRoot, "runsc-platform.json")
	var v struct{ Platform, Why string }
	waitUntil(t, 2*time.Minute, "the KVM probe's verdict in "+cache, func() bool {
		data, err := os.ReadFile(cache)
		return err == nil && json.Unmarshal(data, &v) == nil
	})
	if v.Platform != "systrap" || !strings.Contains(v.Why, "did not start within") {
		t.Errorf("verdict %+v, want systrap because the KVM sandbox did not start", v)
	}
	probeDir := filepath.Join(d.ExecRoot, "runsc-kvm-probe")
	waitUntil(t, time.Minute, "the probe's directory to go", func() bool {
		_, err := os.Stat(probeDir)
		return os.IsNotExist(err)
	})
	if m := mountsUnder(probeDir); len(m) > 0 {
		t.Errorf("the probe left mounts: %q", m)
	}
	d.Stop()
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if info := c.Run(t, "info"); !strings.Contains(info.Stdout+info.Stderr, "on platform systrap: /dev/kvm is present but a KVM sandbox did not start within") {
		t.Errorf("info after the probe does not give the cached verdict:\n%s%s", info.Stdout, info.Stderr)
	}
	if out := c.Must(t, "run", "--rm", "--isolation=sandbox", "busybox", "echo", "sandboxed"); out != "sandboxed" {
		t.Errorf("sandboxed run after the probe printed %q", out)
	}
}

// A berthd SIGKILLed mid-probe leaves the probe's runsc processes and netns
// mounts under <exec-root>/runsc-kvm-probe. The next berthd cleans them up
// even when it does not probe (here: KVM is PVM's).
func TestSandboxPlatformStaleProbeCleaned(t *testing.T) {
	requireRunsc(t)
	d := newStoppedDaemon(t)
	modules := filepath.Join(d.Root, "module")
	probeDir := filepath.Join(d.ExecRoot, "runsc-kvm-probe")
	netns := filepath.Join(probeDir, "state", "null-netns")
	bundle := filepath.Join(probeDir, "runsc-do1")
	for _, dir := range []string{filepath.Join(modules, "kvm"), filepath.Join(modules, "kvm_pvm"), filepath.Dir(netns), bundle} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(netns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", "/dev/null", netns).CombinedOutput(); err != nil {
		t.Fatalf("bind mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", netns).Run() })
	// A stand-in for the probe's sandbox: a process whose command line
	// names the probe's directory, as runsc's do.
	script := filepath.Join(bundle, "sandbox.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 3600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sandbox := exec.Command("/bin/sh", script)
	if err := sandbox.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sandbox.Wait() }()
	t.Cleanup(func() { sandbox.Process.Kill() })
	d.Env = []string{"BERTH_TEST_SYS_MODULE=" + modules}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("the stale probe's process still runs a minute after berthd started")
	}
	if m := mountsUnder(probeDir); len(m) > 0 {
		t.Errorf("the stale probe's mounts are left: %q", m)
	}
	if _, err := os.Stat(probeDir); !os.IsNotExist(err) {
		t.Errorf("the stale probe's directory is left (%v)", err)
	}
}
