// Package oneproc runs the berth client on one P (GOMAXPROCS=1) unless
// the environment sets GOMAXPROCS. Imported for its side effect by
// cmd/berth only.
//
// A berth command is a short-lived client: its work is a few requests,
// their encoding and its output, with nothing to run in parallel worth a
// second P. The second P cost every command more threads (each idle P
// woken for a goroutine starts or wakes an OS thread: 7 clones in a
// `run --rm` instead of 4 to 5), its own cache of heap spans (fresh pages
// touched twice), and a slower exit: the kernel takes each thread down
// before the parent shell is woken (ftrace, exit_group to the parent's
// wait4 returning: 1.13 -> 0.66 ms).
//
// The runtime has started the threads it needs for its own start-up by
// the time any package initialises; this package imports only syscall
// and runtime so it is initialised among the first, before the packages
// whose initialisation allocates or starts goroutines.
package oneproc

import (
	"runtime"
	"syscall"
)

func init() {
	if _, set := syscall.Getenv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}
