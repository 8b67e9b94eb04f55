package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/spf13/cobra"
)

type psOptions struct {
	quiet, size, all, noTrunc, latest bool
	last                              int
	format                            string
	filters                           []string
}

func newPsCommand(cli *command.Cli, use string) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "List containers",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPs(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container ls, docker container list, docker container ps, docker ps"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVarP(&o.size, "size", "s", false, "Display total file sizes")
	f.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&o.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	f.IntVarP(&o.last, "last", "n", -1, "Show n last created containers (includes all states)")
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	f.VarP(opts.NewListOpts(&o.filters, "filter"), "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runPs(ctx context.Context, cli *command.Cli, o psOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	filters, err := opts.ParseFilters(o.filters)
	if err != nil {
		return err
	}
	lo := client.ContainerListOptions{All: o.all, Limit: o.last, Size: o.size, Filters: filters}
	if o.latest {
		lo.Limit = 1
	}
	if lo.Limit > 0 || lo.Limit == 0 && o.latest {
		lo.All = true
	}
	// Sizes are expensive; compute them only if a custom format asks.
	if !o.size && o.format != "" && formatter.Format(o.format) != formatter.TableFormatKey {
		lo.Size = containsSize(o.format)
	}
	list := api.ContainerList
	if o.format == "" || formatter.Format(o.format) == formatter.TableFormatKey {
		list = api.ContainerListTable // the default table or -q
	}
	res, err := list(ctx, lo)
	if err != nil {
		return err
	}
	fctx := formatter.Context{Output: cli.Out(), Format: formatter.ContainerFormat(o.format, o.quiet, o.size)}
	return formatter.WriteContainers(fctx, res.Items, !o.noTrunc)
}

func containsSize(format string) bool {
	for i := 0; i+5 <= len(format); i++ {
		if format[i:i+5] == ".Size" {
			return true
		}
	}
	return false
}
