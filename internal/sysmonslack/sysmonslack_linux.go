// Package sysmonslack relaxes the Go runtime's monitor thread.
//
// The runtime starts one thread, sysmon, before any package initialises.
// While the process is busy it wakes every 20 µs (growing to 10 ms only
// after 50 idle rounds), and every system call that finds it asleep resets
// it to 20 µs. A daemon like berthd, whose every request is a burst of
// system calls, keeps it at that rate: on a 2-core virtual machine, where
// each timer wake-up and context switch is costly, it took 1-3 ms of CPU
// per `run --rm` (perf cpu-clock), beside 8-9 ms of crun's whole run.
//
// A thread's timer slack lets the kernel fire its sleeps up to that much
// later, merged with other wake-ups. Given to sysmon only, its 20 µs naps
// become up to the slack long: its duties (taking a processor back from a
// thread blocked in a system call, preempting a goroutine that ran for
// 10 ms, polling the network when nobody has for 10 ms) happen a fraction
// of a millisecond later, while the other threads keep their timers as
// precise as before. Threads that sysmon itself starts (it hands a
// processor blocked in a system call to a new thread) inherit its slack:
// their timed sleeps may end up to the slack late, which the runtime's
// timers, polled through epoll in whole milliseconds, mostly are already.
package sysmonslack

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Relax sets the timer slack of the calling process's sysmon thread, which
// it finds as the first thread the process created after its main one: the
// runtime creates sysmon first, in runtime.main, before any package
// initialises or any goroutine needs a thread. Setting another thread's
// slack needs CAP_SYS_NICE; the error says why it could not, and nothing
// changes then.
func Relax(slack time.Duration) error {
	tid, err := Thread()
	if err != nil {
		return err
	}
	v := strconv.FormatInt(slack.Nanoseconds(), 10)
	if err := writeProc("/proc/"+strconv.Itoa(tid)+"/timerslack_ns", v); err != nil {
		return fmt.Errorf("set the runtime monitor's timer slack: %w", err)
	}
	return nil
}

// Thread returns the ID of the calling process's sysmon thread, the one
// Relax sets (for tests and diagnostics).
func Thread() (int, error) {
	return sysmonThread("/proc/self/task", os.Getpid())
}

// writeProc writes v to the proc file at path with plain system calls:
// an os.File would add the file to the runtime's poller (setting up epoll
// in a process that has not yet) and register a cleanup, 0.1 ms and 11 kB
// of the berth client's start-up.
func writeProc(path, v string) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	_, err = syscall.Write(fd, []byte(v))
	for err == syscall.EINTR {
		_, err = syscall.Write(fd, []byte(v))
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// sysmonThread is firstThread checking the usual case first: the thread
// ID right after pid is one of pid's threads (nothing else took an ID
// between the exec and the runtime's first thread), which is then the
// first. That is one stat where the scan lists the task directory and
// reads pid_max: 0.1 ms and 11 kB of the berth client's start-up.
func sysmonThread(taskDir string, pid int) (int, error) {
	if _, err := os.Lstat(taskDir + "/" + strconv.Itoa(pid+1)); err == nil {
		return pid + 1, nil
	}
	return firstThread(taskDir, pid, pidMax())
}

// firstThread returns the thread of pid that was created first after the
// main one: thread IDs are handed out in increasing order, wrapping at
// pid_max, so the smallest distance from pid is the oldest.
func firstThread(taskDir string, pid, max int) (int, error) {
	ents, err := os.ReadDir(taskDir)
	if err != nil {
		return 0, err
	}
	best, bestOff := 0, max
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || tid == pid {
			continue
		}
		if off := ((tid-pid)%max + max) % max; off < bestOff {
			best, bestOff = tid, off
		}
	}
	if best == 0 {
		return 0, errors.New("the runtime monitor thread was not found")
	}
	return best, nil
}

func pidMax() int {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if n, err2 := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && err2 == nil && n > 0 {
		return n
	}
	return 1 << 22 // the 64-bit kernel's limit
}
