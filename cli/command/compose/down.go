package compose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func jsonHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func convertIPAM(i types.IPAMConfig) (*network.IPAM, error) {
	out := &network.IPAM{Driver: i.Driver, Options: i.Options}
	for _, pool := range i.Config {
		var cfg network.IPAMConfig
		if pool.Subnet != "" {
			pfx, err := netip.ParsePrefix(pool.Subnet)
			if err != nil {
				return nil, fmt.Errorf("invalid subnet %q", pool.Subnet)
			}
			cfg.Subnet = pfx
		}
		if pool.Gateway != "" {
			a, err := netip.ParseAddr(pool.Gateway)
			if err != nil {
				return nil, fmt.Errorf("invalid gateway %q", pool.Gateway)
			}
			cfg.Gateway = a
		}
		if pool.IPRange != "" {
			pfx, err := netip.ParsePrefix(pool.IPRange)
			if err != nil {
				return nil, fmt.Errorf("invalid ip_range %q", pool.IPRange)
			}
			cfg.IPRange = pfx
		}
		if len(pool.AuxiliaryAddresses) > 0 {
			return nil, fmt.Errorf("berth compose does not support ipam aux_addresses yet")
		}
		out.Config = append(out.Config, cfg)
	}
	return out, nil
}

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
	var wg sync.WaitGroup
	errc := make(chan error, len(ctrs))
	for _, ctr := range ctrs {
		if p != nil && !o.removeOrphans {
			if _, ok := p.Services[ctr.Labels[labelService]]; !ok && ctr.Labels[labelOneoff] != "True" {
				fmt.Fprintf(c.Err(), "WARN[0000] Found orphan container %s for this project.\n", canonicalName(ctr))
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- removeContainer(ctx, c, ctr, o.timeout)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
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

// serviceContainers resolves the target containers of start/stop/rm/logs.
func serviceContainers(ctx context.Context, c *command.Cli, po *projectOptions, services []string, all bool) ([]container.Summary, error) {
	name, p, err := po.projectName(ctx)
	if err != nil {
		return nil, err
	}
	api, err := c.Client()
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		if p != nil {
			if _, err := p.GetService(s); err != nil {
				return nil, fmt.Errorf("no such service: %s", s)
			}
		}
	}
	ctrs, err := projectContainers(ctx, api, name, all)
	if err != nil {
		return nil, err
	}
	if len(services) == 0 {
		return ctrs, nil
	}
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	var out []container.Summary
	for _, ctr := range ctrs {
		if want[ctr.Labels[labelService]] {
			out = append(out, ctr)
		}
	}
	return out, nil
}

func newPsCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var all, quiet, services bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, all)
			if err != nil {
				return err
			}
			switch {
			case quiet:
				for _, ctr := range ctrs {
					fmt.Fprintln(c.Out(), ctr.ID)
				}
				return nil
			case services:
				seen := map[string]bool{}
				for _, ctr := range ctrs {
					if s := ctr.Labels[labelService]; !seen[s] {
						seen[s] = true
						fmt.Fprintln(c.Out(), s)
					}
				}
				return nil
			case format == "json":
				enc := json.NewEncoder(c.Out())
				for _, ctr := range ctrs {
					if err := enc.Encode(map[string]any{"ID": ctr.ID, "Name": canonicalName(ctr), "Image": ctr.Image,
						"Service": ctr.Labels[labelService], "Project": ctr.Labels[labelProject], "State": ctr.State,
						"Status": ctr.Status, "Labels": ctr.Labels}); err != nil {
						return err
					}
				}
				return nil
			case format != "" && format != "table":
				return fmt.Errorf("berth compose ps does not support --format %q yet (table, json)", format)
			}
			w := tabwriter.NewWriter(c.Out(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
			for _, ctr := range ctrs {
				cmdline := ctr.Command
				if len(cmdline) > 20 {
					cmdline = cmdline[:19] + "…"
				}
				fmt.Fprintf(w, "%s\t%s\t%q\t%s\t%s\t%s\t%s\n", canonicalName(ctr), ctr.Image, cmdline,
					ctr.Labels[labelService], ago(ctr.Created), ctr.Status, ports(ctr))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped containers (including those created by the run command)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	cmd.Flags().BoolVar(&services, "services", false, "Display services")
	cmd.Flags().StringVar(&format, "format", "table", "Format the output. Values: [table | json]")
	return cmd
}

func ago(created int64) string {
	d := time.Since(time.Unix(created, 0))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func ports(ctr container.Summary) string {
	var out []string
	for _, p := range ctr.Ports {
		if p.PublicPort != 0 {
			ip := p.IP.String()
			if !p.IP.IsValid() {
				ip = "0.0.0.0"
			}
			out = append(out, fmt.Sprintf("%s:%d->%d/%s", ip, p.PublicPort, p.PrivatePort, p.Type))
		} else {
			out = append(out, fmt.Sprintf("%d/%s", p.PrivatePort, p.Type))
		}
	}
	return strings.Join(out, ", ")
}

func newLsCommand(c *command.Cli) *cobra.Command {
	var all, quiet bool
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.Client()
			if err != nil {
				return err
			}
			res, err := api.ContainerList(cmd.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", labelProject)})
			if err != nil {
				return err
			}
			type proj struct {
				states map[string]int
				files  string
			}
			projects := map[string]*proj{}
			for _, ctr := range res.Items {
				name := ctr.Labels[labelProject]
				pr := projects[name]
				if pr == nil {
					pr = &proj{states: map[string]int{}}
					projects[name] = pr
				}
				pr.states[string(ctr.State)]++
				if pr.files == "" {
					pr.files = ctr.Labels[labelConfigFiles]
				}
			}
			var keys []string
			for k, pr := range projects {
				if all || pr.states["running"] > 0 {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			if quiet {
				for _, k := range keys {
					fmt.Fprintln(c.Out(), k)
				}
				return nil
			}
			w := tabwriter.NewWriter(c.Out(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tSTATUS\tCONFIG FILES")
			for _, k := range keys {
				pr := projects[k]
				var st []string
				for s, n := range pr.states {
					st = append(st, fmt.Sprintf("%s(%d)", s, n))
				}
				sort.Strings(st)
				fmt.Fprintf(w, "%s\t%s\t%s\n", k, strings.Join(st, ", "), pr.files)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped Compose projects")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display project names")
	return cmd
}

func newStopCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] [SERVICE...]",
		Short: "Stop services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, false)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			opts := client.ContainerStopOptions{}
			if cmd.Flags().Changed("timeout") {
				opts.Timeout = &timeout
			}
			return parallel(ctrs, func(ctr container.Summary) error {
				fmt.Fprintf(c.Err(), " Container %s Stopping\n", canonicalName(ctr))
				_, err := api.ContainerStop(cmd.Context(), ctr.ID, opts)
				return err
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	return cmd
}

func newStartCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			return parallel(ctrs, func(ctr container.Summary) error {
				if ctr.State == container.StateRunning {
					return nil
				}
				fmt.Fprintf(c.Err(), " Container %s Starting\n", canonicalName(ctr))
				_, err := api.ContainerStart(cmd.Context(), ctr.ID, client.ContainerStartOptions{})
				return err
			})
		},
	}
}

func newRmCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var force, stop, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] [SERVICE...]",
		Short: "Removes stopped service containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			if !force {
				return fmt.Errorf("berth compose rm asks no questions: pass -f to remove %d container(s)", len(ctrs))
			}
			api, _ := c.Client()
			var targets []container.Summary
			for _, ctr := range ctrs {
				if ctr.State == container.StateRunning && !stop {
					continue
				}
				targets = append(targets, ctr)
			}
			if len(targets) == 0 {
				fmt.Fprintln(c.Err(), "No stopped containers")
				return nil
			}
			return parallel(targets, func(ctr container.Summary) error {
				fmt.Fprintf(c.Err(), " Container %s Removing\n", canonicalName(ctr))
				_, err := api.ContainerRemove(cmd.Context(), ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: volumes})
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Don't ask to confirm removal")
	cmd.Flags().BoolVarP(&stop, "stop", "s", false, "Stop the containers, if required, before removing")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove any anonymous volumes attached to containers")
	return cmd
}

func parallel(ctrs []container.Summary, fn func(container.Summary) error) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(ctrs))
	for _, ctr := range ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- fn(ctr)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

// simpleCommand is a compose subcommand applying one API call to the
// selected services' containers in parallel.
func simpleCommand(c *command.Cli, po *projectOptions, use, short string, all bool, skip func(container.Summary) bool,
	op func(ctx context.Context, api *client.Client, id string) error, verb string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " [SERVICE...]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, all)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			return parallel(ctrs, func(ctr container.Summary) error {
				if skip != nil && skip(ctr) {
					return nil
				}
				fmt.Fprintf(c.Err(), " Container %s %s\n", canonicalName(ctr), verb)
				return op(cmd.Context(), api, ctr.ID)
			})
		},
	}
}

func newPauseCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return simpleCommand(c, po, "pause", "Pause services", false,
		func(ctr container.Summary) bool { return ctr.State != container.StateRunning },
		func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerPause(ctx, id, client.ContainerPauseOptions{})
			return err
		}, "Paused")
}

func newUnpauseCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return simpleCommand(c, po, "unpause", "Unpause services", false,
		func(ctr container.Summary) bool { return ctr.State != container.StatePaused },
		func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
			return err
		}, "Unpaused")
}

func newRestartCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var timeout int
	cmd := simpleCommand(c, po, "restart", "Restart service containers", true, nil, nil, "Restarting")
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	cmd.RunE = func(cmd2 *cobra.Command, args []string) error {
		opts := client.ContainerRestartOptions{}
		if cmd2.Flags().Changed("timeout") {
			opts.Timeout = &timeout
		}
		inner := simpleCommand(c, po, "restart", "", true, nil, func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerRestart(ctx, id, opts)
			return err
		}, "Restarting")
		inner.SetContext(cmd2.Context())
		return inner.RunE(inner, args)
	}
	return cmd
}

func newKillCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var signal string
	cmd := simpleCommand(c, po, "kill", "Force stop service containers", false, nil, nil, "Killing")
	cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "SIGNAL to send to the container")
	cmd.RunE = func(cmd2 *cobra.Command, args []string) error {
		inner := simpleCommand(c, po, "kill", "", false, nil, func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal})
			return err
		}, "Killing")
		inner.SetContext(cmd2.Context())
		return inner.RunE(inner, args)
	}
	return cmd
}
