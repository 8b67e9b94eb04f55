package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var rlimitNames = map[string]int{
	"core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
	"as": unix.RLIMIT_AS,
}

func checkUlimit(u *units.Ulimit) error {
	res, ok := rlimitNames[u.Name]
	if !ok {
		return fmt.Errorf("invalid ulimit type: %s", u.Name)
	}
	if u.Soft > u.Hard {
		return fmt.Errorf("ulimit %s: soft limit %d is above hard limit %d", u.Name, u.Soft, u.Hard)
	}
	var cur unix.Rlimit
	if err := unix.Getrlimit(res, &cur); err != nil {
		return nil
	}
	if cur.Max != unix.RLIM_INFINITY && (u.Hard < 0 || uint64(u.Hard) > cur.Max) {
		return fmt.Errorf("ulimit %s=%d:%d is above this host's hard limit %d; berthd cannot raise it (the daemon lacks CAP_SYS_RESOURCE or the limit is fixed by its service manager): ask for at most %d", u.Name, u.Soft, u.Hard, cur.Max, cur.Max)
	}
	return nil
}

func deviceFromPath(path string) (*specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return nil, fmt.Errorf("%s is not a device", path)
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return &specs.LinuxDevice{
		Path: path, Type: typ,
		Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// boundingSet returns the capabilities in berthd's own bounding set, by
// name, or nil if it cannot be read. It is read once: berthd never drops
// one, and every create and start asked (four reads of a file the kernel
// composes each time).
var boundingSet = sync.OnceValue(readBoundingSet)

func readBoundingSet() map[string]bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil
		}
		out := map[string]bool{}
		// AllCapabilities is in kernel number order.
		for i, name := range AllCapabilities {
			if mask&(1<<uint(i)) != 0 {
				out[name] = true
			}
		}
		return out
	}
	return nil
}
