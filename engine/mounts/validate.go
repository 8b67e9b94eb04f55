package mounts

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/internal/protected"
)

// errMountConfig is Docker's wrapper for a bad --mount (and -v) spec.
func errMountConfig(typ mount.Type, err error) error {
	return fmt.Errorf("invalid mount config for type %q: %v", string(typ), err)
}

func validateAbsolute(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("invalid mount path: '%s' mount path must be absolute", p)
	}
	return nil
}

var errDestinationRoot = errors.New("invalid specification: destination can't be '/'")

// procAllowed are the /proc files runc lets a bind mount cover (lxcfs-style).
var procAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/sys/kernel/ns_last_pid": true,
}

// validateDestination refuses "/", relative paths and destinations the
// runtime owns (/proc, as runc does).
func validateDestination(dst string) error {
	if err := validateAbsolute(dst); err != nil {
		return err
	}
	c := path.Clean(dst)
	if c == "/" {
		return errDestinationRoot
	}
	if (c == "/proc" || strings.HasPrefix(c, "/proc/")) && !procAllowed[c] {
		return fmt.Errorf("invalid specification: destination %s is inside /proc, which the runtime owns", c)
	}
	return nil
}

// ProtectPaths names host folders that no bind mount may expose (the
// engine's data-root and exec-root: its database, sockets, other
// containers' files). The daemon calls it once at start; volume devices
// are checked against the same list.
func ProtectPaths(paths ...string) { protected.Set(paths...) }

// validateBindSource refuses the engine's own folders (and anything in
// them) as bind sources; a parent of them ("/") stays allowed, as Docker.
func validateBindSource(src string) error {
	if err := protected.Check(src); err != nil {
		return fmt.Errorf("bind source path %w", err)
	}
	return nil
}
