package containers

import (
	"context"
	evtypes "github.com/moby/moby/api/types/events"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
)

// Update changes a container's restart policy and resource limits; limits
// of a running container are applied at once by the runtime.
func (s *Service) Update(ctx context.Context, ref string, u container.UpdateConfig) ([]string, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.discardPrep(e) // its cgroup has the old limits
	hc := e.c.HostConfig
	if u.RestartPolicy.Name != "" {
		if hc.AutoRemove && u.RestartPolicy.Name != "no" {
			return nil, errdefs.Invalid("Restart policy cannot be updated because AutoRemove is enabled for the container")
		}
		if err := container.ValidateRestartPolicy(u.RestartPolicy); err != nil {
			return nil, errdefs.Invalid("%s", err.Error())
		}
		hc.RestartPolicy = u.RestartPolicy
	}
	r := u.Resources
	if err := refuseUnappliedUpdate(r); err != nil {
		return nil, err
	}
	if err := validateCpusets(r.CpusetCpus, r.CpusetMems); err != nil {
		return nil, err
	}
	changed := false
	if r.Memory != 0 {
		if r.Memory < 6*1024*1024 {
			return nil, errdefs.Invalid("Minimum memory limit allowed is 6MB")
		}
		hc.Memory, changed = r.Memory, true
	}
	if r.MemorySwap != 0 {
		hc.MemorySwap, changed = r.MemorySwap, true
	}
	if r.NanoCPUs != 0 {
		hc.NanoCPUs, changed = r.NanoCPUs, true
	}
	if r.CPUShares != 0 {
		hc.CPUShares, changed = r.CPUShares, true
	}
	if r.CPUQuota != 0 {
		hc.CPUQuota, changed = r.CPUQuota, true
	}
	if r.CPUPeriod != 0 {
		hc.CPUPeriod, changed = r.CPUPeriod, true
	}
	if r.CpusetCpus != "" {
		hc.CpusetCpus, changed = r.CpusetCpus, true
	}
	if r.CpusetMems != "" {
		hc.CpusetMems, changed = r.CpusetMems, true
	}
	if r.MemoryReservation != 0 {
		hc.MemoryReservation, changed = r.MemoryReservation, true
	}
	if r.PidsLimit != nil {
		hc.PidsLimit, changed = r.PidsLimit, true
	}
	if changed && e.c.State.Running() {
		rt, err := s.runtimeOf(&e.c)
		if err != nil {
			return nil, err
		}
		if err := rt.UpdateResources(ctx, e.c.ID, hc); err != nil {
			return nil, errdefs.Invalid("Cannot update container %s: %v", e.c.ID, err)
		}
	}
	if err := s.persist(e); err != nil {
		return nil, err
	}
	s.emit(&e.c, evtypes.ActionUpdate, nil)
	return nil, nil
}

// refuseUnappliedUpdate names the first resource an update asks for that
// Update does not apply (docker update has no flag for most of them; an API
// client may still send them): accepted and ignored would leave the caller
// believing a limit is in force.
func refuseUnappliedUpdate(r container.Resources) error {
	unapplied := []struct {
		field string
		set   bool
	}{
		{"CgroupParent", r.CgroupParent != ""},
		{"BlkioWeight", r.BlkioWeight != 0},
		{"BlkioWeightDevice", len(r.BlkioWeightDevice) > 0},
		{"BlkioDeviceReadBps", len(r.BlkioDeviceReadBps) > 0},
		{"BlkioDeviceWriteBps", len(r.BlkioDeviceWriteBps) > 0},
		{"BlkioDeviceReadIOps", len(r.BlkioDeviceReadIOps) > 0},
		{"BlkioDeviceWriteIOps", len(r.BlkioDeviceWriteIOps) > 0},
		{"CpuRealtimePeriod", r.CPURealtimePeriod != 0},
		{"CpuRealtimeRuntime", r.CPURealtimeRuntime != 0},
		{"Devices", len(r.Devices) > 0},
		{"DeviceCgroupRules", len(r.DeviceCgroupRules) > 0},
		{"DeviceRequests", len(r.DeviceRequests) > 0},
		{"MemorySwappiness", r.MemorySwappiness != nil},
		{"OomKillDisable", r.OomKillDisable != nil},
		{"Ulimits", len(r.Ulimits) > 0},
		{"CpuCount", r.CPUCount != 0},
		{"CpuPercent", r.CPUPercent != 0},
		{"IOMaximumIOps", r.IOMaximumIOps != 0},
		{"IOMaximumBandwidth", r.IOMaximumBandwidth != 0},
	}
	for _, u := range unapplied {
		if u.set {
			return errdefs.Invalid("Cannot update container: %s cannot be changed by an update on this engine; recreate the container with it", u.field)
		}
	}
	return nil
}
