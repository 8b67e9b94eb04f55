package system

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// NewSystemCommand is the `system` management group.
func NewSystemCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage Docker",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cli.Err())
			return cmd.Help()
		},
	}
	cmd.AddCommand(newDfCommand(cli), NewEventsCommand(cli), NewInfoCommand(cli), newPruneCommand(cli))
	return cmd
}
