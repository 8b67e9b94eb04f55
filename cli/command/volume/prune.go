package volume

import (
	"context"
	"errors"
	"strings"

	"github.com/berth-dev/berth/cli/opts"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
)

const (
	anonymousWarning = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
	allWarning       = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
)

// ErrPruneCancelled is returned by RunPrune when the user answers no;
// commands treat it as success with no output, as docker does.
var ErrPruneCancelled = command.ErrPruneCancelled

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var all, force bool
	filter := opts.NewFilterOpt()
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, out, err := RunPrune(cmd.Context(), cli, all, force, filter.Filters)
			if out != "" {
				out += "\n"
			}
			return command.ReportPrune(cli, out, units.HumanSize(float64(n)), err)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	f.Var(filter, "filter", `Provide filter values (e.g. "label=<label>")`)
	f.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// RunPrune removes unused volumes (anonymous ones only unless all) after
// confirmation, returning the space reclaimed and the "Deleted Volumes:"
// report. system prune --volumes may reuse it with force set.
func RunPrune(ctx context.Context, cli *command.Cli, all, force bool, filters client.Filters) (uint64, string, error) {
	filters = filters.Clone()
	if filters == nil {
		filters = client.Filters{}
	}
	warning := anonymousWarning
	if all {
		if _, ok := filters["all"]; ok {
			return 0, "", errors.New("conflicting options: cannot specify both --all and --filter all=1")
		}
		filters.Add("all", "true")
		warning = allWarning
	}
	if err := command.ConfirmPrune(cli, force, warning); err != nil {
		return 0, "", err
	}
	api, err := cli.Client()
	if err != nil {
		return 0, "", err
	}
	res, err := api.VolumePrune(ctx, client.VolumePruneOptions{Filters: filters})
	if err != nil {
		return 0, "", err
	}
	var b strings.Builder
	var reclaimed uint64
	if len(res.Report.VolumesDeleted) > 0 {
		b.WriteString("Deleted Volumes:\n")
		for _, v := range res.Report.VolumesDeleted {
			b.WriteString(v + "\n")
		}
		reclaimed = res.Report.SpaceReclaimed
	}
	return reclaimed, b.String(), nil
}
