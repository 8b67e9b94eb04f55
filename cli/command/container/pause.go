package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newPauseCommand(cli *command.Cli) *cobra.Command {
	return newForEachCommand(cli, "pause CONTAINER [CONTAINER...]",
		"Pause all processes within one or more containers", "docker container pause, docker pause",
		func(ctx context.Context, api client.APIClient, n string) error {
			_, err := api.ContainerPause(ctx, n, client.ContainerPauseOptions{})
			return err
		})
}
