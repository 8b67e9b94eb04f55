package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// podInit is PID 1 of a CRI pod's shared PID namespace (berthd starts it
// in a new one; Berth pulls no pause image): it holds the namespace open
// for the pod's containers and reaps the orphans they leave, until
// SIGTERM or SIGKILL.
func podInit() int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			return 0
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}
