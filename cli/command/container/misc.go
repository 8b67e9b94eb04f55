package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newTopCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.ContainerTop(cmd.Context(), args[0], client.ContainerTopOptions{Arguments: args[1:]})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cli.Out(), 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(res.Titles, "\t"))
			for _, p := range res.Processes {
				fmt.Fprintln(w, strings.Join(p, "\t"))
			}
			return w.Flush()
		},
		Annotations: map[string]string{"aliases": "docker container top, docker top"},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newPortCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPort(cmd.Context(), cli, args)
		},
		Annotations: map[string]string{"aliases": "docker container port, docker port"},
	}
}

// runPort prints NetworkSettings.Ports as "80/tcp -> 0.0.0.0:8080", or the
// host addresses of one port.
func runPort(ctx context.Context, cli *command.Cli, args []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerInspect(ctx, args[0], client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	var ports network.PortMap
	if res.Container.NetworkSettings != nil {
		ports = res.Container.NetworkSettings.Ports
	}
	hostAddr := func(b network.PortBinding) string {
		ip := "0.0.0.0"
		if b.HostIP.IsValid() {
			ip = b.HostIP.String()
		}
		if strings.Contains(ip, ":") {
			return "[" + ip + "]:" + b.HostPort
		}
		return ip + ":" + b.HostPort
	}
	if len(args) == 2 {
		spec := args[1]
		if !strings.Contains(spec, "/") {
			spec += "/tcp"
		}
		p, err := network.ParsePort(spec)
		if err != nil {
			return err
		}
		bs, ok := ports[p]
		if !ok || len(bs) == 0 {
			return fmt.Errorf("Error: No public port '%s' published for %s", spec, args[0])
		}
		for _, b := range bs {
			fmt.Fprintln(cli.Out(), hostAddr(b))
		}
		return nil
	}
	var lines []string
	for p, bs := range ports {
		for _, b := range bs {
			lines = append(lines, fmt.Sprintf("%s -> %s", p.String(), hostAddr(b)))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(cli.Out(), l)
	}
	return nil
}

func newDiffCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			res, err := api.ContainerDiff(cmd.Context(), args[0], client.ContainerDiffOptions{})
			if err != nil {
				return err
			}
			for _, c := range res.Changes {
				fmt.Fprintf(cli.Out(), "%s %s\n", changeKind(c.Kind), c.Path)
			}
			return nil
		},
		Annotations: map[string]string{"aliases": "docker container diff, docker diff"},
	}
}

func changeKind(k container.ChangeType) string {
	switch k {
	case container.ChangeModify:
		return "C"
	case container.ChangeAdd:
		return "A"
	case container.ChangeDelete:
		return "D"
	}
	return "?"
}

func newExportCommand(cli *command.Cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" && cli.Out().IsTerminal() {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			rc, err := api.ContainerExport(cmd.Context(), args[0], client.ContainerExportOptions{})
			if err != nil {
				return err
			}
			defer rc.Close()
			return writeOutput(cli, rc, output)
		},
		Annotations: map[string]string{"aliases": "docker container export, docker export"},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// writeOutput copies r to the file (written to a temp name and renamed, so
// a failed transfer leaves no partial file) or to stdout.
func writeOutput(cli *command.Cli, r io.Reader, path string) error {
	if path == "" {
		_, err := io.Copy(cli.Out(), r)
		return err
	}
	tmp := path + ".berth-tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("failed to export container: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func newCommitCommand(cli *command.Cli) *cobra.Command {
	var (
		pause           bool
		comment, author string
		changes         []string
	)
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			res, err := api.ContainerCommit(cmd.Context(), args[0], client.ContainerCommitOptions{
				Reference: ref, Comment: comment, Author: author, Changes: changes, NoPause: !pause,
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cli.Out(), res.ID)
			return nil
		},
		Annotations: map[string]string{"aliases": "docker container commit, docker commit"},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.VarP(opts.NewListOpts(&changes, "list"), "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&comment, "message", "m", "", "Commit message")
	f.BoolVarP(&pause, "pause", "p", true, "Pause container during commit")
	return cmd
}

func newUpdateCommand(cli *command.Cli) *cobra.Command {
	var (
		restart, memory, cpus string
		pidsLimit             int64
		cpuShares             int64
	)
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uo := client.ContainerUpdateOptions{}
			res := &container.Resources{}
			changed := false
			if cmd.Flags().Changed("restart") {
				rp, err := opts.ParseRestartPolicy(restart)
				if err != nil {
					return err
				}
				uo.RestartPolicy = &rp
			}
			if memory != "" {
				n, err := opts.ParseBytes(memory)
				if err != nil {
					return err
				}
				res.Memory, changed = n, true
			}
			if cpus != "" {
				n, err := opts.ParseCPUs(cpus)
				if err != nil {
					return err
				}
				res.NanoCPUs, changed = n, true
			}
			if cmd.Flags().Changed("pids-limit") {
				res.PidsLimit, changed = &pidsLimit, true
			}
			if cmd.Flags().Changed("cpu-shares") {
				res.CPUShares, changed = cpuShares, true
			}
			if changed {
				uo.Resources = res
			}
			if uo.Resources == nil && uo.RestartPolicy == nil {
				return errors.New("you must provide one or more flags when using this command")
			}
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api client.APIClient, n string) error {
				r, err := api.ContainerUpdate(ctx, n, uo)
				for _, w := range r.Warnings {
					fmt.Fprintln(cli.Err(), w)
				}
				return err
			})
		},
		Annotations: map[string]string{"aliases": "docker container update, docker update"},
	}
	f := cmd.Flags()
	f.StringVar(&restart, "restart", "", "Restart policy to apply when a container exits")
	f.VarP(opts.NewStringValue(&memory, "bytes"), "memory", "m", "Memory limit")
	f.Var(opts.NewStringValue(&cpus, "decimal"), "cpus", "Number of CPUs")
	f.Int64Var(&pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.Int64VarP(&cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	return cmd
}

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var (
		force   bool
		filters []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, out, err := RunPrune(cmd.Context(), cli, force, filters)
			if errors.Is(err, ErrPruneCancelled) {
				return nil
			}
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintln(cli.Out(), out)
			}
			fmt.Fprintln(cli.Out(), "Total reclaimed space:", formatter.HumanSize(int64(n)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(opts.NewListOpts(&filters, "filter"), "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// ErrPruneCancelled is returned when the user answers no to the prompt.
var ErrPruneCancelled = errors.New("prune cancelled")

// RunPrune removes stopped containers after confirmation (skipped with
// force) and returns the reclaimed bytes and the "Deleted Containers:"
// listing. system prune reuses it.
func RunPrune(ctx context.Context, cli *command.Cli, force bool, filterValues []string) (uint64, string, error) {
	filters, err := opts.ParseFilters(filterValues)
	if err != nil {
		return 0, "", err
	}
	if !force && !command.PromptForConfirmation(cli.In(), cli.Out(), "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?") {
		return 0, "", ErrPruneCancelled
	}
	api, err := cli.Client()
	if err != nil {
		return 0, "", err
	}
	res, err := api.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: filters})
	if err != nil {
		return 0, "", err
	}
	out := ""
	if len(res.Report.ContainersDeleted) > 0 {
		out = "Deleted Containers:\n" + strings.Join(res.Report.ContainersDeleted, "\n") + "\n"
	}
	return res.Report.SpaceReclaimed, out, nil
}
