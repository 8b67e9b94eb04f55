package system

import (
	"errors"
	"fmt"
	"github.com/berth-dev/berth/cli/command/network"
	"github.com/berth-dev/berth/cli/command/volume"
	"github.com/berth-dev/berth/cli/opts"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/builder"
	"github.com/berth-dev/berth/cli/command/container"
	"github.com/berth-dev/berth/cli/command/image"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/spf13/cobra"
)

func newPruneCommand(cli *command.Cli) *cobra.Command {
	var (
		all, force, volumes bool
		filters             []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			warning := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"
			if volumes {
				warning += "  - all anonymous volumes not used by at least one container\n"
			}
			if all {
				warning += "  - all images without at least one container associated to them\n"
			} else {
				warning += "  - all dangling images\n"
			}
			warning += "  - unused build cache\n\nAre you sure you want to continue?"
			if !force && !command.PromptForConfirmation(cli.In(), cli.Out(), warning) {
				return nil
			}
			var total uint64
			n, out, err := container.RunPrune(cmd.Context(), cli, true, filters)
			if err != nil && !errors.Is(err, container.ErrPruneCancelled) {
				return err
			}
			total += n
			if out != "" {
				fmt.Fprintln(cli.Out(), out)
			}
			f, err := opts.ParseFilters(filters)
			if err != nil {
				return err
			}
			out, err = network.RunPrune(cmd.Context(), cli, true, f)
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprint(cli.Out(), out)
			}
			if volumes {
				n, out, err = volume.RunPrune(cmd.Context(), cli, false, true, f)
				if err != nil {
					return err
				}
				total += n
				if out != "" {
					fmt.Fprint(cli.Out(), out)
				}
			}
			n, out, err = image.RunPrune(cmd.Context(), cli, all, true, filters)
			if err != nil && !errors.Is(err, image.ErrPruneCancelled) {
				return err
			}
			total += n
			if out != "" {
				fmt.Fprint(cli.Out(), out)
			}
			n, out, err = builder.RunPrune(cmd.Context(), cli, builder.PruneOptions{All: all, Force: true, Filters: filters})
			if err != nil {
				return err
			}
			total += n
			if out != "" {
				fmt.Fprintln(cli.Out(), out)
			}
			fmt.Fprintln(cli.Out(), "Total reclaimed space:", formatter.HumanSize(int64(total)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().BoolVar(&volumes, "volumes", false, "Prune anonymous volumes")
	cmd.Flags().Var(newListFlag(&filters), "filter", `Provide filter values (e.g. "label=<key>=<value>")`)
	return cmd
}
