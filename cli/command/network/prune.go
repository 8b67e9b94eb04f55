package network

import (
	"context"
	"fmt"
	"github.com/berth-dev/berth/cli/opts"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

const pruneWarning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?"

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var force bool
	filter := opts.NewFilterOpt()
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := RunPrune(cmd.Context(), cli, force, filter.Filters)
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintln(cli.Out(), out)
			}
			return nil
		},
	}
	cmd.Flags().Var(filter, "filter", `Provide filter values (e.g. "until=<timestamp>")`)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// RunPrune asks for confirmation unless force, removes unused custom
// networks and returns the "Deleted Networks:" report (empty when nothing
// was removed or the user declined, which docker treats as success). system
// prune may reuse it with force set.
func RunPrune(ctx context.Context, cli *command.Cli, force bool, filters client.Filters) (string, error) {
	if !force && !command.PromptForConfirmation(cli.In(), cli.Out(), pruneWarning) {
		return "", nil
	}
	api, err := cli.Client()
	if err != nil {
		return "", err
	}
	res, err := api.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: filters})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if len(res.Report.NetworksDeleted) > 0 {
		b.WriteString("Deleted Networks:\n")
		for _, n := range res.Report.NetworksDeleted {
			b.WriteString(n + "\n")
		}
	}
	return b.String(), nil
}
