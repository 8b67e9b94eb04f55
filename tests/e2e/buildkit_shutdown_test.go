package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// berthd stopped right after a client interrupted a build leaves nothing
// of the interrupted RUN step: no process, and no mount (its rootfs, its
// cache mount, its network namespace) under the daemon's roots.
func TestBuildKitStopAfterInterrupt(t *testing.T) {
	d := startDaemon(t)
	dc := buildxPlugin(t, d)
	tag := strconv.Itoa(3000000 + int(time.Now().UnixNano()%8000000))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=/c sleep " + tag + "\n"})
	// buildx: its /grpc connection is hijacked, so berthd's shutdown does
	// not wait for the build's request to end as it waits for POST /build.
	cmd := exec.Command(dc.Path(), "build", "--progress=plain", dir)
	cmd.Env = dc.Env()
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
	// The daemon's root holds its data root and its exec root (netns).
	if ms := mountsUnder(filepath.Dir(d.DataRoot)); len(ms) > 0 {
		t.Fatalf("mounts left after berthd stopped: %q\n%s", ms, d.LogTail(30))
	}
}
