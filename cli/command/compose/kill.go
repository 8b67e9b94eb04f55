package compose

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newKillCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var signal string
	cmd := simpleCommand(c, po, "kill", "Force stop service containers", false, nil, func(ctx context.Context, api *client.Client, id string) error {
		_, err := api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: signal})
		return err
	}, "Killing")
	cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "SIGNAL to send to the container")
	return cmd
}
