package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// How berthd chooses gVisor's platform.
//
// A /dev/kvm that opens does not mean gVisor's KVM platform works: in a
// nested or PVM guest the sandbox can spin at 100 % CPU without ever running
// the container's first instruction, and every sandboxed container would hang
// the same way. So kvm is chosen only once a real sandbox has started on it:
//   - /dev/kvm does not open: systrap.
//   - /dev/kvm is PVM's (kvm_pvm without kvm_intel or kvm_amd): systrap at no
//     cost. PVM runs guest kernels in hardware ring 3 and needs guests built
//     for it; gVisor's ring-0 code is not, and `runsc --platform=kvm do true`
//     spins until killed (seen > 3.5 min). Skipping the probe there saves
//     every fresh data root the probe's timeout of a spinning CPU.
//   - otherwise the verdict of a probe (`runsc --platform=kvm do true` with a
//     deadline, everything it started killed and unmounted afterwards) is
//     used when one is cached for this runsc binary, kernel release and
//     /dev/kvm node (a reboot makes a new node, an upgrade a new binary).
//   - no verdict yet: systrap now, and the probe runs in the background; its
//     verdict is cached under the data root and applies from berthd's next
//     start. berthd's start is never delayed by the probe (up to
//     kvmProbeTimeout on a host where it hangs), and the platform of the
//     running daemon never changes under containers being created: runsc's
//     global flags are read by every verb without a lock, and a daemon that
//     switched mid-run would report one platform and run another.
//
// A runsc configured in daemon.json "runtimes" keeps the flags given there.

// kvmProbeTimeout bounds the probe: a working KVM platform starts a sandbox
// in well under a second; one that hangs never does.
const kvmProbeTimeout = 10 * time.Second

// platformCacheName is the verdict's file under the data root.
const platformCacheName = "runsc-platform.json"

// kvmHost is where the choice looks; tests point it elsewhere.
type kvmHost struct {
	Dev       string // the KVM device, /dev/kvm
	SysModule string // the kernel's module directory, /sys/module
}

// hostKVM is this host's KVM. BERTH_TEST_SYS_MODULE replaces /sys/module
// so that tests on a PVM host can make berthd run the probe.
func hostKVM() kvmHost {
	h := kvmHost{Dev: "/dev/kvm", SysModule: "/sys/module"}
	if d := os.Getenv("BERTH_TEST_SYS_MODULE"); d != "" {
		h.SysModule = d
	}
	return h
}

// platformVerdict is a probe's outcome, as cached.
type platformVerdict struct {
	Key      string `json:"key"`
	Platform string `json:"platform"`
	Why      string `json:"why"`
}

// platformChoice is the platform berthd gives runsc, why, and whether the
// KVM probe should run (Key then identifies what it tests).
type platformChoice struct {
	Platform string
	Why      string
	Probe    bool
	Key      string
}

// choosePlatform picks runsc's platform from what h and the cached verdict
// in cacheFile say (see the comment at the top of this file).
func choosePlatform(h kvmHost, runsc, cacheFile string) platformChoice {
	f, err := os.OpenFile(h.Dev, os.O_RDWR, 0)
	if err != nil {
		return platformChoice{Platform: "systrap", Why: h.Dev + " cannot be opened"}
	}
	f.Close()
	if isPVM(h.SysModule) {
		return platformChoice{Platform: "systrap", Why: h.Dev + " is PVM's (kvm_pvm), which gVisor's KVM platform cannot run on (its sandbox spins without starting)"}
	}
	key, err := platformKey(runsc, h.Dev)
	if err != nil {
		return platformChoice{Platform: "systrap", Why: "the KVM probe cannot identify its inputs: " + err.Error()}
	}
	if v, err := readVerdict(cacheFile); err == nil && v.Key == key && (v.Platform == "kvm" || v.Platform == "systrap") {
		return platformChoice{Platform: v.Platform, Why: v.Why + " (probe cached in " + cacheFile + ")"}
	}
	return platformChoice{Platform: "systrap", Probe: true, Key: key,
		Why: h.Dev + " is present; a KVM sandbox probe runs in the background and kvm is used from berthd's next start if it passes (verdict kept in " + cacheFile + ")"}
}

// isPVM reports whether KVM here is PVM's: its module is loaded and no
// hardware-virtualisation one is.
func isPVM(sysModule string) bool {
	has := func(m string) bool {
		_, err := os.Stat(filepath.Join(sysModule, m))
		return err == nil
	}
	return has("kvm_pvm") && !has("kvm_intel") && !has("kvm_amd")
}

// platformKey identifies the inputs of the probe: the runsc binary (device,
// inode, size, mtime), the kernel release and the KVM device node (its
// number and mtime: devtmpfs makes the node anew at every boot).
func platformKey(runsc, dev string) (string, error) {
	var bin, kvm unix.Stat_t
	if err := unix.Stat(runsc, &bin); err != nil {
		return "", fmt.Errorf("stat %s: %w", runsc, err)
	}
	if err := unix.Stat(dev, &kvm); err != nil {
		return "", fmt.Errorf("stat %s: %w", dev, err)
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", err
	}
	return fmt.Sprintf("runsc=%s:%d:%d:%d:%d kernel=%s kvm=%d:%d",
		runsc, bin.Dev, bin.Ino, bin.Size, bin.Mtim.Nano(),
		unix.ByteSliceToString(uts.Release[:]), kvm.Rdev, kvm.Mtim.Nano()), nil
}

func readVerdict(file string) (platformVerdict, error) {
	var v platformVerdict
	data, err := os.ReadFile(file)
	if err == nil {
		err = json.Unmarshal(data, &v)
	}
	return v, err
}

// writeVerdict replaces file by rename, so a reader never sees half of it.
func writeVerdict(file string, v platformVerdict) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// verdictOf turns a probe's error into the verdict to cache.
func verdictOf(key string, err error) platformVerdict {
	if err == nil {
		return platformVerdict{Key: key, Platform: "kvm", Why: "a KVM sandbox started"}
	}
	return platformVerdict{Key: key, Platform: "systrap", Why: "/dev/kvm is present but " + err.Error()}
}

// probeKVM starts a sandbox on the KVM platform (`runsc do true`) in dir
// and reports whether it ran within timeout. Whatever it started is killed
// and unmounted, and dir removed, before it returns.
func probeKVM(ctx context.Context, runsc, dir string, timeout time.Duration) error {
	cleanProbeDir(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	defer cleanProbeDir(dir)
	// Pdeathsig belongs to the thread that forks: keep this goroutine on it
	// so that runsc dies with berthd rather than spinning on.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(runsc, "--root", filepath.Join(dir, "state"), "--platform=kvm",
		"--network=none", "--ignore-cgroups", "do", "true")
	// runsc do makes its bundle (and a netns bind mount) under TMPDIR.
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Output goes to a file, not a pipe: the sandbox inherits it, and Wait
	// would wait for a pipe's last writer.
	out, err := os.Create(filepath.Join(dir, "probe.log"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("the KVM probe could not start runsc: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			log, _ := os.ReadFile(out.Name())
			return fmt.Errorf("a KVM sandbox failed to start (%v): %s", err, lastLine(string(log)))
		}
		return nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("a KVM sandbox did not start within %v", timeout)
		}
		return ctx.Err()
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// cleanProbeDir kills what a probe left running in dir (runsc's sandbox and
// gofer run in sessions of their own), unmounts the netns bind mounts runsc
// made there and removes dir.
func cleanProbeDir(dir string) {
	killUnder(dir)
	bundles, _ := filepath.Glob(filepath.Join(dir, "runsc-do*"))
	for _, b := range bundles {
		unmountAll(filepath.Join(b, "null-netns"))
	}
	unmountAll(filepath.Join(dir, "state", "null-netns"))
	os.RemoveAll(dir)
}

// killUnder SIGKILLs the processes whose command line names dir.
func killUnder(dir string) {
	procs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// runProbe probes KVM and caches the verdict; notify, when set, is told the
// outcome. A probe cut short by ctx caches nothing.
func runProbe(ctx context.Context, runsc, probeDir, cacheFile, key string, notify func(string)) {
	err := probeKVM(ctx, runsc, probeDir, kvmProbeTimeout)
	if ctx.Err() != nil && err != nil {
		return
	}
	v := verdictOf(key, err)
	if werr := writeVerdict(cacheFile, v); werr != nil && notify != nil {
		notify("runsc KVM probe: cannot cache the verdict: " + werr.Error())
	}
	if notify != nil {
		notify(fmt.Sprintf("runsc KVM probe: %s; platform %s from berthd's next start", v.Why, v.Platform))
	}
}
