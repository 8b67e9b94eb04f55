package compose

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
)

func ensureNetwork(ctx context.Context, api *client.Client, p *types.Project, key string, n types.NetworkConfig) error {
	if n.External {
		return nil
	}
	if _, err := api.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{}); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	labels := map[string]string{}
	for k, v := range n.Labels {
		labels[k] = v
	}
	labels[labelProject] = p.Name
	labels[labelNetwork] = key
	labels[labelVersion] = composeVersion
	nc := n
	nc.CustomLabels = nil
	if h, err := jsonHash(&nc); err == nil {
		labels[labelConfigHash] = h
	}
	opts := client.NetworkCreateOptions{
		Driver: n.Driver, Options: n.DriverOpts, Labels: labels, Internal: n.Internal,
		Attachable: n.Attachable, EnableIPv4: n.EnableIPv4, EnableIPv6: n.EnableIPv6,
	}
	if len(n.Ipam.Config) > 0 || n.Ipam.Driver != "" {
		ipam, err := convertIPAM(n.Ipam)
		if err != nil {
			return err
		}
		opts.IPAM = ipam
	}
	_, err := api.NetworkCreate(ctx, n.Name, opts)
	return err
}

func ensureVolume(ctx context.Context, api *client.Client, p *types.Project, key string, v types.VolumeConfig) error {
	if v.External {
		return nil
	}
	if _, err := api.VolumeInspect(ctx, v.Name, client.VolumeInspectOptions{}); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	labels := map[string]string{}
	for k, val := range v.Labels {
		labels[k] = val
	}
	labels[labelProject] = p.Name
	labels[labelVolume] = key
	labels[labelVersion] = composeVersion
	vc := v
	vc.CustomLabels = nil
	if vc.Driver == "" {
		vc.Driver = "local"
	}
	if h, err := jsonHash(vc); err == nil {
		labels[labelConfigHash] = h
	}
	_, err := api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: v.Name, Driver: v.Driver, DriverOpts: v.DriverOpts, Labels: labels})
	return err
}
