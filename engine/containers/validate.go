package containers

import (
	"strings"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"
)

// refuseUnapplied refuses, with dockerd's words where it has them, every
// create option Berth would otherwise accept and not apply (DESIGN.md:
// accepted means done). Each HostConfig and Config field of API 1.47 is
// either applied (runtime spec, network, mounts, log, restart, health...),
// a client-side or Windows-only field dockerd ignores on Linux too
// (ContainerIDFile, ConsoleSize of a non-TTY, Config.OnBuild/Shell/
// ArgsEscaped, which only images use), or refused here.
func refuseUnapplied(cfg *container.Config, hc *container.HostConfig, dataRoot string) error {
	if len(hc.DeviceRequests) > 0 {
		// No device driver (nvidia, cdi) is registered in berthd.
		r := hc.DeviceRequests[0]
		return errdefs.Invalid("could not select device driver %q with capabilities: %v", r.Driver, r.Capabilities)
	}
	if len(hc.StorageOpt) > 0 {
		var st unix.Statfs_t
		if unix.Statfs(dataRoot, &st) == nil && st.Type == unix.XFS_SUPER_MAGIC {
			return errdefs.Invalid("--storage-opt is not supported by berthd: per-container quotas are not implemented")
		}
		return errdefs.Invalid("--storage-opt is supported only for overlay over xfs with 'pquota' mount option")
	}
	if !hc.CgroupnsMode.Valid() {
		return errdefs.Invalid("invalid cgroup namespace mode: %v", hc.CgroupnsMode)
	}
	if hc.CgroupParent != "" {
		for _, part := range strings.Split(hc.CgroupParent, "/") {
			if part == ".." {
				return errdefs.Invalid("invalid cgroup parent %q: must not contain \"..\"", hc.CgroupParent)
			}
		}
	}
	if err := refuseNamespaceModes(hc); err != nil {
		return err
	}
	if hc.Cgroup != "" {
		return errdefs.Invalid("HostConfig.Cgroup (--cgroup %s) is not supported by berthd", hc.Cgroup)
	}
	if hc.UsernsMode != "" && !hc.UsernsMode.IsHost() {
		return errdefs.Invalid("HostConfig.UsernsMode (--userns %s) is not supported by berthd: only \"host\"", hc.UsernsMode)
	}
	if hc.VolumeDriver != "" && hc.VolumeDriver != "local" {
		return errdefs.NotFound("error looking up volume plugin %s: plugin %q not found", hc.VolumeDriver, hc.VolumeDriver)
	}
	if _, err := runtime.NormalizeIsolation(string(hc.Isolation)); err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	if hc.CPUCount > 0 || hc.CPUPercent > 0 {
		return errdefs.Invalid("HostConfig.CPUCount/CPUPercent are not supported on Linux (use --cpus)")
	}
	if hc.IOMaximumBandwidth != 0 || hc.IOMaximumIOps != 0 {
		return errdefs.Invalid("Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps")
	}
	if hc.NanoCPUs > 0 && hc.CPUPeriod > 0 {
		return errdefs.Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	}
	if hc.NanoCPUs > 0 && hc.CPUQuota > 0 {
		return errdefs.Invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
	}
	if hc.MemorySwap > 0 && hc.Memory == 0 {
		return errdefs.Invalid("You should always set the Memory limit when using Memoryswap limit")
	}
	if hc.MemorySwappiness != nil && (*hc.MemorySwappiness < -1 || *hc.MemorySwappiness > 100) {
		return errdefs.Invalid("Invalid value: %v, valid memory swappiness range is 0-100", *hc.MemorySwappiness)
	}
	for _, f := range []struct {
		set  bool
		name string
	}{
		{hc.BlkioWeight != 0 || len(hc.BlkioWeightDevice) > 0, "HostConfig.BlkioWeight (--blkio-weight, --blkio-weight-device)"},
		{len(hc.BlkioDeviceReadBps) > 0 || len(hc.BlkioDeviceWriteBps) > 0, "HostConfig.BlkioDeviceReadBps/WriteBps (--device-read-bps, --device-write-bps)"},
		{len(hc.BlkioDeviceReadIOps) > 0 || len(hc.BlkioDeviceWriteIOps) > 0, "HostConfig.BlkioDeviceReadIOps/WriteIOps (--device-read-iops, --device-write-iops)"},
		{hc.CPURealtimePeriod != 0 || hc.CPURealtimeRuntime != 0, "HostConfig.CPURealtimePeriod/CPURealtimeRuntime (--cpu-rt-period, --cpu-rt-runtime)"},
		{len(hc.DeviceCgroupRules) > 0, "HostConfig.DeviceCgroupRules (--device-cgroup-rule)"},
		{cfg.NetworkDisabled, "Config.NetworkDisabled (use --network none)"},
	} {
		if f.set {
			return errdefs.Invalid("%s is not supported by berthd", f.name)
		}
	}
	return nil
}

// cgroupParentOf is where c's cgroup lives: its --cgroup-parent, or the
// daemon's cgroup-parent.
func (s *Service) cgroupParentOf(c *Container) string {
	if c.HostConfig != nil && c.HostConfig.CgroupParent != "" {
		return c.HostConfig.CgroupParent
	}
	return s.cfg.CgroupParent
}

// refuseNamespaceModes accepts the PID and IPC modes the spec builder
// applies (own namespace, or the host's) and refuses the rest by name:
// joining another container's namespace and IPC "none" are not done.
func refuseNamespaceModes(hc *container.HostConfig) error {
	switch {
	case !hc.PidMode.Valid():
		return errdefs.Invalid("invalid PID mode: %v", hc.PidMode)
	case hc.PidMode.IsContainer():
		return errdefs.Invalid("--pid %s is not supported by berthd: only the container's own PID namespace or \"host\"", hc.PidMode)
	case !hc.IpcMode.Valid():
		return errdefs.Invalid("invalid IPC mode: %v", hc.IpcMode)
	case hc.IpcMode.IsContainer(), hc.IpcMode.IsNone():
		return errdefs.Invalid("--ipc %s is not supported by berthd: only \"private\", \"shareable\" or \"host\"", hc.IpcMode)
	}
	return nil
}
