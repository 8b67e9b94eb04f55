package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStopDetachesRootfs: berthd takes a stopped container's overlay out
// of the mount table before it replies and leaves the overlay's end (the
// sync of its upper file system) to the background. The container keeps
// its writes across a start right after the stop and across a berthd
// SIGKILL right after one; nothing stays mounted; its name is free again
// at once after rm.
func TestStopDetachesRootfs(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	b.Must(t, "run", "-d", "--name", "wr", "busybox", "sh", "-c", "echo data > /root/f; exec sleep 300")
	id := b.Must(t, "inspect", "--format", "{{.Id}}", "wr")
	overlay := filepath.Join(d.DataRoot, "image", "overlay", id)
	readsData := func(when string) {
		t.Helper()
		eventually(t, 10*time.Second, func() error {
			if r := b.Run(t, "exec", "wr", "cat", "/root/f"); strings.TrimSpace(r.Stdout) != "data" {
				return fmt.Errorf("%s: exec cat /root/f: %s", when, r)
			}
			return nil
		})
	}
	noMount := func(when string) {
		t.Helper()
		if m := mountsUnder(overlay); len(m) > 0 {
			t.Fatalf("%s: still mounted: %v", when, m)
		}
	}
	readsData("first run")
	b.Must(t, "stop", "-t", "0", "wr")
	noMount("after stop")
	b.Must(t, "start", "wr")
	readsData("started right after the stop")

	b.Must(t, "stop", "-t", "0", "wr")
	d.Kill()
	noMount("berthd killed right after the stop")
	if err := d.Start(); err != nil {
		t.Fatalf("restarting berthd: %v", err)
	}
	noMount("after berthd's restart")
	b.Must(t, "start", "wr")
	readsData("after the crash")
	b.Must(t, "rm", "-f", "wr")
	if m := mountsUnder(overlay); len(m) > 0 {
		t.Fatalf("after rm -f: still mounted: %v", m)
	}
	b.Must(t, "create", "--name", "wr", "busybox", "true")
	b.Must(t, "rm", "wr")
}
