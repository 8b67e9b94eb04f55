// Package network implements `berth network ...`: create, ls, inspect, rm,
// prune, connect and disconnect, mirroring docker's flags, output and exit
// codes so scripts written for `docker network` work unchanged.
package network

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// NewNetworkCommand is the `network` management group.
func NewNetworkCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cli.Err())
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newConnectCommand(cli), newCreateCommand(cli), newDisconnectCommand(cli),
		newInspectCommand(cli), newListCommand(cli), newRemoveCommand(cli), newPruneCommand(cli),
	)
	return cmd
}
