package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newKillCommand(cli *command.Cli) *cobra.Command {
	var signal string
	cmd := newForEachCommand(cli, "kill [OPTIONS] CONTAINER [CONTAINER...]",
		"Kill one or more running containers", "docker container kill, docker kill",
		func(ctx context.Context, api client.APIClient, n string) error {
			_, err := api.ContainerKill(ctx, n, client.ContainerKillOptions{Signal: signal})
			return err
		})
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}
