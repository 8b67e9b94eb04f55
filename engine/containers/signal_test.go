package containers

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/stringid"

	"golang.org/x/sys/unix"
)

func TestInContainerCgroup(t *testing.T) {
	const id = "669743b90034fd1668d1bfca13692854247767b682df172fd9cb466f7104fbcc"
	v1 := "10:hugetlb:/berth/" + id + "\n4:memory:/berth/" + id + "\n0::/berth/" + id + "\n"
	for _, tc := range []struct {
		name, text, id string
		want           bool
	}{
		{"v1 and unified", v1, id, true},
		{"custom parent", "0::/my/parent/" + id + "\n", id, true},
		{"other container", v1, "0123" + id[4:], false},
		{"prefix of the id", "0::/berth/" + id[:12] + "\n", id, false},
		{"id as a parent", "0::/berth/" + id + "/child\n", id, false},
		{"host process", "0::/user.slice/session-1.scope\n", id, false},
		{"empty id", "0::/\n", "", false},
		{"garbage", "no colon here", id, false},
	} {
		if got := inContainerCgroup([]byte(tc.text), tc.id); got != tc.want {
			t.Errorf("%s: inContainerCgroup = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPidfdSignal signals a real process through a pidfd once its cgroup
// names the container, and refuses one whose cgroup does not. The process
// is put in a cgroup of its own, named like a container ID.
func TestPidfdSignal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a cgroup")
	}
	root := "/sys/fs/cgroup/pids"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		root = "/sys/fs/cgroup" // cgroup v2
	}
	id := stringid.New()
	dir := filepath.Join(root, "berth-test-"+id[:8], id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skip("cannot make a cgroup:", err)
	}
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.Remove(dir)
		os.Remove(filepath.Dir(dir))
	})
	pid := cmd.Process.Pid
	if err := pidfdSignal(pid, id, unix.SIGKILL); !errors.Is(err, errNotContainer) {
		t.Fatalf("signal to a process outside the container's cgroup: err %v, want errNotContainer", err)
	}
	if err := unix.Kill(pid, 0); err != nil {
		t.Fatalf("refused signal was sent anyway: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pidfdSignal(pid, "0123"+id[4:], unix.SIGKILL); !errors.Is(err, errNotContainer) {
		t.Fatalf("signal naming another container: err %v, want errNotContainer", err)
	}
	if err := pidfdSignal(pid, id, unix.SIGKILL); err != nil {
		t.Fatalf("signal: %v", err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("sleep ended with %v, want killed by SIGKILL", err)
	}
	if err := pidfdSignal(pid, id, unix.SIGKILL); err == nil {
		t.Fatal("signal to a reaped pid succeeded")
	}
}
