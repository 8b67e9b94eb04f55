package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// berthd stopped right after a client interrupted a build leaves nothing
// of the interrupted RUN step: no process, and no mount (its rootfs, its
// cache mount, its network namespace) under the data root.
func TestBuildKitStopAfterInterrupt(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	tag := strconv.Itoa(3000000 + int(time.Now().UnixNano()%8000000))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=/c sleep " + tag + "\n"})
	cmd := exec.Command(b.Path(), "build", "--progress=plain", dir)
	cmd.Env = b.Env()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sleeping := func() bool { return len(pidsWithCmdline("sleep\x00"+tag)) > 0 }
	waitFor(t, buildLimit, "the RUN step to start", sleeping)
	cmd.Process.Signal(syscall.SIGINT)
	if !d.Stop() {
		t.Fatalf("berthd did not stop on SIGTERM\n%s", d.LogTail(30))
	}
	cmd.Wait()
	waitFor(t, time.Minute, "the interrupted step's processes to end", func() bool { return !sleeping() })
	if ms := mountsUnder(d.DataRoot); len(ms) > 0 {
		t.Fatalf("mounts left under the data root after berthd stopped: %q\n%s", ms, d.LogTail(30))
	}
}
