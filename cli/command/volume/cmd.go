// Package volume implements `berth volume ...`: create, ls, inspect, rm and
// prune, mirroring docker's flags, output and exit codes.
package volume

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// NewVolumeCommand is the `volume` management group.
func NewVolumeCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cli.Err())
			return cmd.Help()
		},
	}
	cmd.AddCommand(newCreateCommand(cli), newInspectCommand(cli), newListCommand(cli), newPruneCommand(cli), newRemoveCommand(cli))
	return cmd
}
