package containers

import (
	"path"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Every path that reaches the OCI spec is checked here, at create (or exec
// create), never left to the runtime: a relative path is resolved by crun
// and runc from their own working directory, on the host.

// cleanWorkingDir checks a container's or exec's working directory, with
// Docker's message, and returns its clean form ("" stays "": the default).
func cleanWorkingDir(wd string) (string, error) {
	if wd == "" {
		return "", nil
	}
	if !path.IsAbs(wd) || strings.ContainsRune(wd, 0) {
		return "", errdefs.Invalid("the working directory '%s' is invalid, it needs to be an absolute path", wd)
	}
	return path.Clean(wd), nil
}

// cleanDevices checks --device mappings and returns them with clean paths
// and the default container path and permissions filled in.
func cleanDevices(devs []container.DeviceMapping) ([]container.DeviceMapping, error) {
	if len(devs) == 0 {
		return devs, nil
	}
	out := make([]container.DeviceMapping, 0, len(devs))
	for _, d := range devs {
		if d.PathOnHost == "" {
			return nil, errdefs.Invalid("invalid device mapping: the path on the host is empty")
		}
		if !path.IsAbs(d.PathOnHost) || strings.ContainsRune(d.PathOnHost, 0) {
			return nil, errdefs.Invalid("%s is not an absolute path", d.PathOnHost)
		}
		d.PathOnHost = path.Clean(d.PathOnHost)
		if d.PathInContainer == "" {
			d.PathInContainer = d.PathOnHost
		}
		if !path.IsAbs(d.PathInContainer) || strings.ContainsRune(d.PathInContainer, 0) {
			return nil, errdefs.Invalid("%s is not an absolute path", d.PathInContainer)
		}
		d.PathInContainer = path.Clean(d.PathInContainer)
		if d.PathInContainer == "/" {
			return nil, errdefs.Invalid("invalid device mapping %s: the path in the container cannot be '/'", d.PathOnHost)
		}
		if d.CgroupPermissions == "" {
			d.CgroupPermissions = "rwm"
		}
		if !validDeviceMode(d.CgroupPermissions) {
			return nil, errdefs.Invalid("invalid device mode: %s", d.CgroupPermissions)
		}
		out = append(out, d)
	}
	return out, nil
}

// validDeviceMode: a non-empty mix of r, w and m, each at most once.
func validDeviceMode(mode string) bool {
	if mode == "" || len(mode) > 3 {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if c != 'r' && c != 'w' && c != 'm' || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// checkCgroupParent: --cgroup-parent names a cgroup folder; a component the
// file system cannot hold (over 255 bytes) would only fail at start.
func checkCgroupParent(p string) error {
	if strings.ContainsRune(p, 0) {
		return errdefs.Invalid("invalid cgroup parent %q", p)
	}
	for _, c := range strings.Split(p, "/") {
		if len(c) > 255 {
			return errdefs.Invalid("invalid cgroup parent: component %.20q... is %d bytes long, at most 255 are allowed", c, len(c))
		}
	}
	return nil
}
