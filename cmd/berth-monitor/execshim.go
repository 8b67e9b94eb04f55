package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// execShim runs one `docker exec` process for berthd: berthd starts
// `berth-monitor exec-shim PIDFILE -- RUNTIME ARGS...` (ARGS being
// `exec --detach --pid-file PIDFILE ...`). The shim becomes a child
// subreaper, so the exec'd process and any intermediate process of the
// runtime are re-parented to it and reaped here, not left as zombies that
// would keep the container's pid namespace from ending. It exits with the
// exec'd process's status (128+signal when killed), which berthd records.
// Its stdio is the exec's: the runtime hands it to the process. On fd 3 it
// reports to berthd "ok PID" once the process runs, or "fail" when the
// runtime could not start it (its error text then went to stderr, before
// the process could have written anything there).
func execShim(args []string) int {
	sync := os.NewFile(3, "sync")
	report := func(msg string) {
		if sync != nil {
			sync.Write([]byte(msg + "\n"))
			sync.Close()
			sync = nil
		}
	}
	defer report("fail")
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "usage: berth-monitor exec-shim PIDFILE -- RUNTIME ARGS...")
		return 2
	}
	pidFile, argv := args[0], args[2:]
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "exec-shim: subreaper:", err)
		return 126
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if sync != nil {
		unix.CloseOnExec(3)
	}
	if err := cmd.Run(); err != nil {
		// The runtime said why on stderr, which berthd reads.
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return 126
		}
		fmt.Fprintln(os.Stderr, "exec-shim:", err)
		return 126
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exec-shim: no pid from the runtime:", err)
		return 126
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		fmt.Fprintln(os.Stderr, "exec-shim: bad pid file:", string(data))
		return 126
	}
	report("ok " + strconv.Itoa(pid))
	// The shim no longer needs the exec's stdio; closing it lets berthd see
	// EOF as soon as the process (and whatever it forked) is done with it.
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	for fd := 0; fd <= 2; fd++ {
		unix.Dup2(int(devnull.Fd()), fd)
	}
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// No children left without having seen the process: it was
			// reaped elsewhere; report an unknown status.
			return 255
		}
		if got == pid {
			if ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
}
