package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newUnpauseCommand(cli *command.Cli) *cobra.Command {
	return newForEachCommand(cli, "unpause CONTAINER [CONTAINER...]",
		"Unpause all processes within one or more containers", "docker container unpause, docker unpause",
		func(ctx context.Context, api client.APIClient, n string) error {
			_, err := api.ContainerUnpause(ctx, n, client.ContainerUnpauseOptions{})
			return err
		})
}
