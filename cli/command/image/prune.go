package image

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/spf13/cobra"
)

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var (
		all, force bool
		filters    []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, out, err := RunPrune(cmd.Context(), cli, all, force, filters)
			return command.ReportPrune(cli, out, formatter.HumanSize(int64(n)), err)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(opts.NewListOpts(&filters, "filter"), "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	return cmd
}

// ErrPruneCancelled is returned when the user answers no to the prompt.
var ErrPruneCancelled = command.ErrPruneCancelled

// RunPrune removes dangling (or with all, unused) images after
// confirmation; system prune reuses it.
func RunPrune(ctx context.Context, cli *command.Cli, all, force bool, filterValues []string) (uint64, string, error) {
	filters, err := opts.ParseFilters(filterValues)
	if err != nil {
		return 0, "", err
	}
	warning := "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
	if all {
		filters.Add("dangling", "false")
		warning = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
	} else {
		filters.Add("dangling", "true")
	}
	if err := command.ConfirmPrune(cli, force, warning); err != nil {
		return 0, "", err
	}
	api, err := cli.Client()
	if err != nil {
		return 0, "", err
	}
	res, err := api.ImagePrune(ctx, client.ImagePruneOptions{Filters: filters})
	if err != nil {
		return 0, "", err
	}
	var b strings.Builder
	if len(res.Report.ImagesDeleted) > 0 {
		b.WriteString("Deleted Images:\n")
		for _, d := range res.Report.ImagesDeleted {
			if d.Untagged != "" {
				fmt.Fprintf(&b, "untagged: %s\n", d.Untagged)
			} else {
				fmt.Fprintf(&b, "deleted: %s\n", d.Deleted)
			}
		}
		b.WriteString("\n")
	}
	return res.Report.SpaceReclaimed, b.String(), nil
}
