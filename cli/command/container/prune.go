package container

import (
	"context"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/spf13/cobra"
)

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
			if out != "" {
				out += "\n"
			}
			return command.ReportPrune(cli, out, formatter.HumanSize(int64(n)), err)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(opts.NewListOpts(&filters, "filter"), "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// ErrPruneCancelled is returned when the user answers no to the prompt.
var ErrPruneCancelled = command.ErrPruneCancelled

// RunPrune removes stopped containers after confirmation (skipped with
// force) and returns the reclaimed bytes and the "Deleted Containers:"
// listing. system prune reuses it.
func RunPrune(ctx context.Context, cli *command.Cli, force bool, filterValues []string) (uint64, string, error) {
	filters, err := opts.ParseFilters(filterValues)
	if err != nil {
		return 0, "", err
	}
	if err := command.ConfirmPrune(cli, force, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"); err != nil {
		return 0, "", err
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
