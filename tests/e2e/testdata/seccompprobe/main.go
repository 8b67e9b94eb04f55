// Command seccompprobe makes a few system calls whose fate a seccomp
// profile decides by number and by argument, and prints one line per call:
// its name and the errno it got (0: allowed and succeeded, or failed in the
// kernel for a reason the filter did not give). TestSeccompFilterEquivalence
// runs it in containers to compare filters compiled by different paths.
package main

import (
	"fmt"
	"syscall"
)

func main() {
	probes := []struct {
		name string
		call func() syscall.Errno
	}{
		// Docker's profile allows personality only for a few values.
		{"personality-linux32", func() syscall.Errno { return personality(0x0008) }},
		{"personality-linux32-norandom", func() syscall.Errno { return personality(0x0040008) }},
		// clone is allowed without namespace flags only.
		{"clone-plain", func() syscall.Errno { return cloneExit(uintptr(syscall.SIGCHLD)) }},
		{"clone-newuts", func() syscall.Errno { return cloneExit(syscall.CLONE_NEWUTS | uintptr(syscall.SIGCHLD)) }},
		// clone3 gets ENOSYS (so libcs fall back to clone), not EPERM. An
		// allowed clone3 with a NULL argument fails in the kernel (EFAULT
		// or EINVAL), which is told apart.
		{"clone3", func() syscall.Errno { return raw(435, 0, 0, 0) }},
		// Key management is denied outright.
		{"add_key", func() syscall.Errno { return raw(syscall.SYS_ADD_KEY, 0, 0, 0) }},
		{"getpid", func() syscall.Errno { return raw(syscall.SYS_GETPID, 0, 0, 0) }},
	}
	for _, p := range probes {
		e := p.call()
		// Errors the kernel gives an allowed call with bad arguments.
		if e == syscall.EFAULT || e == syscall.EINVAL {
			e = 0
		}
		fmt.Printf("%s=%d\n", p.name, int(e))
	}
}

func raw(nr, a1, a2, a3 uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall(nr, a1, a2, a3)
	return e
}

func personality(p uintptr) syscall.Errno {
	e := raw(syscall.SYS_PERSONALITY, p, 0, 0)
	raw(syscall.SYS_PERSONALITY, 0, 0, 0) // back to PER_LINUX if it changed
	return e
}

// cloneExit forks with flags; the child, a copy of this process sharing
// nothing, exits at once, and the parent reaps it.
func cloneExit(flags uintptr) syscall.Errno {
	pid, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if pid == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var ws syscall.WaitStatus
	syscall.Wait4(int(pid), &ws, 0, nil)
	return 0
}
