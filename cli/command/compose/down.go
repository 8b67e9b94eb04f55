package compose

import (
	"context"
	"fmt"
	"sort"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

type downOptions struct {
	volumes, removeOrphans bool
	rmi                    string
	timeout                *int
}

func newDownCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o downOptions
	var timeout int
	cmd := &cobra.Command{
		Use:   "down [OPTIONS] [SERVICES]",
		Short: "Stop and remove containers, networks",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.rmi != "" && o.rmi != "local" && o.rmi != "all" {
				return fmt.Errorf("invalid value for --rmi: %q", o.rmi)
			}
			if cmd.Flags().Changed("timeout") {
				o.timeout = &timeout
			}
			return down(cmd.Context(), c, po, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.volumes, "volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.IntVarP(&timeout, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	f.StringVar(&o.rmi, "rmi", "", `Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")`)
	return cmd
}

func down(ctx context.Context, c *command.Cli, po *projectOptions, o downOptions) error {
	name, p, err := po.projectName(ctx)
	if err != nil {
		return err
	}
	api, err := c.Client()
	if err != nil {
		return err
	}
	ctrs, err := projectContainers(ctx, api, name, true)
	if err != nil {
		return err
	}
	// one-off (run) containers go too
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: projectFilter(name).Add("label", labelOneoff+"=True")})
	if err != nil {
		return err
	}
	ctrs = append(ctrs, res.Items...)
	images := imagesToRemove(name, p, ctrs, o.rmi)
	if err := removeContainers(ctx, c, p, ctrs, o); err != nil {
		return err
	}
	if err := removeNetworks(ctx, c, api, name); err != nil {
		return err
	}
	if err := removeImages(ctx, c, api, images); err != nil {
		return err
	}
	if o.volumes {
		return removeVolumes(ctx, c, api, name, p)
	}
	return nil
}

// removeContainers stops and removes the containers at once, but only
// warns about orphans (of services no longer in the project) unless told
// to remove them.
func removeContainers(ctx context.Context, c *command.Cli, p *types.Project, ctrs []container.Summary, o downOptions) error {
	var targets []container.Summary
	for _, ctr := range ctrs {
		if p != nil && !o.removeOrphans {
			if _, ok := p.Services[ctr.Labels[labelService]]; !ok && ctr.Labels[labelOneoff] != "True" {
				fmt.Fprintf(c.Err(), "WARN[0000] Found orphan container %s for this project.\n", canonicalName(ctr))
				continue
			}
		}
		targets = append(targets, ctr)
	}
	return parallel(targets, func(ctr container.Summary) error {
		return removeContainer(ctx, c, ctr, o.timeout)
	})
}

// removeNetworks removes the networks the project created.
func removeNetworks(ctx context.Context, c *command.Cli, api *client.Client, project string) error {
	nets, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: projectFilter(project)})
	if err != nil {
		return err
	}
	for _, n := range nets.Items {
		if n.Labels[labelNetwork] == "" {
			continue
		}
		fmt.Fprintf(c.Err(), " Network %s Removing\n", n.Name)
		if _, err := api.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		fmt.Fprintf(c.Err(), " Network %s Removed\n", n.Name)
	}
	return nil
}

// removeImages removes the images --rmi chose; one already gone is no error.
func removeImages(ctx context.Context, c *command.Cli, api *client.Client, images []string) error {
	for _, img := range images {
		fmt.Fprintf(c.Err(), " Image %s Removing\n", img)
		if _, err := api.ImageRemove(ctx, img, client.ImageRemoveOptions{}); err != nil {
			if errdefs.IsNotFound(err) {
				continue
			}
			return err
		}
		fmt.Fprintf(c.Err(), " Image %s Removed\n", img)
	}
	return nil
}

// removeVolumes removes the project's volumes (-v), external ones excepted.
func removeVolumes(ctx context.Context, c *command.Cli, api *client.Client, project string, p *types.Project) error {
	vols, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: projectFilter(project)})
	if err != nil {
		return err
	}
	for _, v := range vols.Items {
		if p != nil {
			if vc, ok := p.Volumes[v.Labels[labelVolume]]; ok && bool(vc.External) {
				continue
			}
		}
		fmt.Fprintf(c.Err(), " Volume %s Removing\n", v.Name)
		if _, err := api.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		fmt.Fprintf(c.Err(), " Volume %s Removed\n", v.Name)
	}
	return nil
}

// imagesToRemove is what `down --rmi` removes: every service's image with
// "all", only those compose named itself (build-only services,
// project-service) with "local". Without a compose file the containers'
// images stand in for the services'.
func imagesToRemove(project string, p *types.Project, ctrs []container.Summary, rmi string) []string {
	if rmi == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(img string, local bool) {
		if img == "" || seen[img] || (rmi == "local" && !local) {
			return
		}
		seen[img] = true
		out = append(out, img)
	}
	if p != nil {
		for _, name := range p.ServiceNames() {
			s := p.Services[name]
			add(imageName(p, s), s.Image == "")
		}
		return out
	}
	for _, ctr := range ctrs {
		add(ctr.Image, ctr.Image == project+"-"+ctr.Labels[labelService])
	}
	sort.Strings(out)
	return out
}
