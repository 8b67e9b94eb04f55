package containers

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/runtime/oci"
	"golang.org/x/sys/unix"
)

// signalInit sends sig to the init process (pid, as recorded at start) of
// container id. For runc-like runtimes berthd signals it itself through a
// pidfd: `crun kill` is a program run (tens of milliseconds on a busy
// machine) for one system call. The runtime's kill is the fallback, and
// stays the only way for runtimes whose recorded pid is not the
// container's own process (gVisor's sandbox).
func signalInit(ctx context.Context, rt *runtime.Runtime, id string, pid int, sig unix.Signal) error {
	if _, plain := rt.Runtime.(*oci.CLI); plain && pid > 0 {
		if err := pidfdSignal(pid, id, sig); err == nil {
			return nil
		}
	}
	return rt.Kill(ctx, id, &oci.KillOpts{Signal: int(sig)})
}

// errNotContainer is pidfdSignal's refusal: pid is no longer (or never
// was) a process of the container.
var errNotContainer = errors.New("pid is not the container's")

// pidfdSignal signals pid once it is sure pid is a process of container
// id: it opens a pidfd first, then checks that the process it names sits
// in a cgroup of the container (whose paths end in the container's ID). A
// pid recycled before the open fails the check; one recycled after it does
// not matter, the pidfd still names the process that was checked (which
// has exited: the signal then fails with ESRCH).
func pidfdSignal(pid int, id string, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return err
	}
	if !inContainerCgroup(cg, id) {
		return errNotContainer
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// inContainerCgroup tells whether a /proc/PID/cgroup text places the
// process in the cgroup of container id on some hierarchy: a path whose
// last element is the ID (the runtime spec's cgroupsPath is PARENT/ID).
func inContainerCgroup(procCgroup []byte, id string) bool {
	if id == "" {
		return false
	}
	for _, line := range bytes.Split(procCgroup, []byte{'\n'}) {
		// hierarchy-ID:controllers:path
		i := bytes.LastIndexByte(line, ':')
		if i < 0 {
			continue
		}
		path := line[i+1:]
		if string(path[bytes.LastIndexByte(path, '/')+1:]) == id {
			return true
		}
	}
	return false
}
