package compose

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newRestartCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var timeout int
	var cmd *cobra.Command
	cmd = simpleCommand(c, po, "restart", "Restart service containers", true, nil, func(ctx context.Context, api *client.Client, id string) error {
		opts := client.ContainerRestartOptions{}
		if cmd.Flags().Changed("timeout") {
			opts.Timeout = &timeout
		}
		_, err := api.ContainerRestart(ctx, id, opts)
		return err
	}, "Restarting")
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	return cmd
}
