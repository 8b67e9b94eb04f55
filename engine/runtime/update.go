package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update applies a host config's resource limits to a running container.
func (r *Runtime) Update(ctx context.Context, id string, hc *container.HostConfig) error {
	s := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{}}}
	applyResources(s, hc)
	data, err := json.Marshal(s.Linux.Resources)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, r.Path, append(r.GlobalArgs(), "update", "--resources", "-", id)...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s update: %s", r.Name, strings.TrimSpace(stderr.String()))
	}
	return nil
}
