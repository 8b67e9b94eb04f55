package e2e

import (
	"path/filepath"
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
	// buildx: its /grpc connection is hijacked, so berthd's shutdown does
	// not wait for the build's request to end as it waits for POST /build.
	cmd, _, sleeping := startSleepingBuild(t, "--mount=type=cache,target=/c ", dc.Path(), dc.Env(), "build", "--progress=plain")
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
