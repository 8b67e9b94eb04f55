// Package builder is `berth builder`: the build cache's management group
// (`builder build`, `builder prune`), as docker's.
package builder

import (
	"context"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	clibuild "github.com/berth-dev/berth/cli/command/build"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/spf13/cobra"
)

// NewBuilderCommand is the `builder` management group.
func NewBuilderCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage builds",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cli.Err())
			return cmd.Help()
		},
	}
	cmd.AddCommand(clibuild.NewBuildCommand(cli), newPruneCommand(cli))
	return cmd
}

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var (
		o           PruneOptions
		keepStorage string
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := opts.ParseBytes(keepStorage)
			if err != nil || n < 0 {
				return command.StatusError{Status: "invalid argument \"" + keepStorage + "\" for \"--keep-storage\" flag: invalid size", StatusCode: 125}
			}
			o.KeepStorage = n
			size, listing, err := RunPrune(cmd.Context(), cli, o)
			return command.ReportPrune(cli, listing, formatter.HumanSize(int64(size)), err)
		},
	}
	cmd.Flags().BoolVarP(&o.All, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	cmd.Flags().Var(opts.NewListOpts(&o.Filters, "filter"), "filter", `Provide filter values (e.g. "until=24h")`)
	cmd.Flags().BoolVarP(&o.Force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().StringVar(&keepStorage, "keep-storage", "", "Amount of disk space to keep for cache")
	return cmd
}

// PruneOptions are `builder prune`'s.
type PruneOptions struct {
	All, Force  bool
	Filters     []string
	KeepStorage int64
}

// RunPrune asks (unless Force) and prunes the build cache, returning the
// space reclaimed and docker's listing of the records deleted. A no to the
// prompt is command.ErrPruneCancelled.
func RunPrune(ctx context.Context, cli *command.Cli, o PruneOptions) (uint64, string, error) {
	f, err := opts.ParseFilters(o.Filters)
	if err != nil {
		return 0, "", err
	}
	warning := "WARNING! This will remove all dangling build cache. Are you sure you want to continue?"
	if o.All {
		warning = "WARNING! This will remove all build cache. Are you sure you want to continue?"
	}
	if err := command.ConfirmPrune(cli, o.Force, warning); err != nil {
		return 0, "", err
	}
	api, err := cli.Client()
	if err != nil {
		return 0, "", err
	}
	res, err := api.BuildCachePrune(ctx, client.BuildCachePruneOptions{All: o.All, ReservedSpace: o.KeepStorage, Filters: f})
	if err != nil {
		return 0, "", err
	}
	var b strings.Builder
	if len(res.Report.CachesDeleted) > 0 {
		b.WriteString("Deleted build cache objects:\n")
		for _, id := range res.Report.CachesDeleted {
			b.WriteString(id + "\n")
		}
	}
	return res.Report.SpaceReclaimed, b.String(), nil
}
