package compose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
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
}

func newDownCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o downOptions
	cmd := &cobra.Command{
		Use:   "down [OPTIONS] [SERVICES]",
		Short: "Stop and remove containers, networks",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.rmi != "" {
				return fmt.Errorf("berth compose down does not support --rmi yet")
			}
			return down(cmd.Context(), c, po, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.volumes, "volumes", "v", false, "Remove named volumes declared in the \"volumes\" section of the Compose file and anonymous volumes attached to containers")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
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
			errc <- removeContainer(ctx, c, ctr)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	nets, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: projectFilter(name)})
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
	if o.volumes {
		vols, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: projectFilter(name)})
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
	}
	return nil
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

var colors = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

func newLogsCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var follow, timestamps, noPrefix, noColor bool
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			width := 0
			for _, ctr := range ctrs {
				if n := len(shortName(ctr)); n > width {
					width = n
				}
			}
			var mu sync.Mutex
			color := c.Out().IsTerminal() && !noColor
			return parallel(ctrs, func(ctr container.Summary) error {
				rc, err := api.ContainerLogs(cmd.Context(), ctr.ID, client.ContainerLogsOptions{
					ShowStdout: true, ShowStderr: true, Follow: follow, Tail: tail, Timestamps: timestamps})
				if err != nil {
					return err
				}
				defer rc.Close()
				prefix := ""
				if !noPrefix {
					prefix = fmt.Sprintf("%-*s | ", width+1, shortName(ctr))
					if color {
						idx := 0
						for i, s := range ctrs {
							if s.ID == ctr.ID {
								idx = i
							}
						}
						prefix = "\033[" + colors[idx%len(colors)] + "m" + prefix + "\033[0m"
					}
				}
				w := &lineWriter{prefix: prefix, out: c.Out(), mu: &mu}
				if ctr.Labels != nil {
					insp, err := api.ContainerInspect(cmd.Context(), ctr.ID, client.ContainerInspectOptions{})
					if err == nil && insp.Container.Config != nil && insp.Container.Config.Tty {
						_, err = io.Copy(w, rc)
						w.flush()
						return err
					}
				}
				_, err = stdcopy.StdCopy(w, w, rc)
				w.flush()
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs for each container")
	f.BoolVar(&noPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	f.BoolVar(&noColor, "no-color", false, "Produce monochrome output")
	return cmd
}

// shortName is the container name without the project: web-1.
func shortName(ctr container.Summary) string {
	n := canonicalName(ctr)
	p := ctr.Labels[labelProject]
	if strings.HasPrefix(n, p+"-") {
		return n[len(p)+1:]
	}
	return n
}

type lineWriter struct {
	prefix string
	out    io.Writer
	mu     *sync.Mutex
	buf    []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.buf = append(l.buf, b...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.mu.Lock()
		fmt.Fprintf(l.out, "%s%s\n", l.prefix, l.buf[:i])
		l.mu.Unlock()
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.mu.Lock()
		fmt.Fprintf(l.out, "%s%s\n", l.prefix, l.buf)
		l.mu.Unlock()
		l.buf = nil
	}
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
