package containers

import (
	"os"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/errdefs"
)

// validateCpuset checks a --cpuset-cpus / --cpuset-mems list ("0-2,4") as
// Docker does: well formed, and naming only CPUs or nodes the host has
// (sysfsList is /sys/devices/system/cpu/online or .../node/online). A bad
// value used to be stored and then failed every start with the runtime's
// "writing file cpuset.cpus: Argument list too long".
func validateCpuset(value, what, sysfsList string) error {
	if value == "" {
		return nil
	}
	want, err := parseCPUList(value)
	if err != nil {
		return errdefs.Invalid("Invalid value %s for %s", value, what)
	}
	data, err := os.ReadFile(sysfsList)
	if err != nil {
		return nil // the host does not say: leave it to the kernel
	}
	have, err := parseCPUList(strings.TrimSpace(string(data)))
	if err != nil {
		return nil
	}
	for n := range want {
		if !have[n] {
			return errdefs.Invalid("Requested %s are not available - requested %s, available: %s", what, value, strings.TrimSpace(string(data)))
		}
	}
	return nil
}

// parseCPUList parses the kernel's list format: "0-3,5,7-8".
func parseCPUList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, errdefs.Invalid("invalid cpu list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, errdefs.Invalid("invalid cpu list %q", s)
			}
		}
		if b-a > 4096 || b > 1<<16 {
			return nil, errdefs.Invalid("invalid cpu list %q", s)
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}

// validateCpusets checks both cpuset fields of a host config or update.
func validateCpusets(cpus, mems string) error {
	if err := validateCpuset(cpus, "cpuset cpus", "/sys/devices/system/cpu/online"); err != nil {
		return err
	}
	return validateCpuset(mems, "cpuset mems", "/sys/devices/system/node/online")
}
