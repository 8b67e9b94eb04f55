package cri

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/berth-dev/berth/internal/monitor"
)

// startPodInit starts the pod's PID 1 (berth-monitor pod-init) in a new
// PID namespace, which the pod's containers then join. Unlike network,
// IPC and UTS namespaces, a PID namespace cannot be pinned by a mount: it
// needs a live init. The process outlives berthd, like a monitor.
func startPodInit(monitorPath string) (int, error) {
	if monitorPath == "" {
		return 0, fmt.Errorf("no berth-monitor to run the pod's init")
	}
	cmd := exec.Command(monitor.ShimBinary(monitorPath), "pod-init")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("pod init: %w", err)
	}
	go cmd.Wait() // reaped here while berthd lives; by init after
	return cmd.Process.Pid, nil
}

// podInitAlive tells whether pid is still a pod init (not a reused pid).
func podInitAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.HasSuffix(bytes.TrimRight(b, "\x00"), []byte("\x00pod-init"))
}

func pidNSPath(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/ns/pid" }

// stopPodInit ends the pod's init; the kernel then kills whatever is left
// in its PID namespace.
func stopPodInit(pid int) {
	if podInitAlive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
