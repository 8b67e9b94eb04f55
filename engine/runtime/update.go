package runtime

import (
	"context"
	"encoding/json"

	"github.com/berth-dev/berth/engine/runtime/oci"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// UpdateResources applies a host config's resource limits to a running
// container.
func (r *Runtime) UpdateResources(ctx context.Context, id string, hc *container.HostConfig) error {
	s := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{}}}
	applyResources(s, hc)
	data, err := json.Marshal(s.Linux.Resources)
	if err != nil {
		return err
	}
	return r.Update(ctx, id, &oci.UpdateOpts{Resources: data})
}
