package compose

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newPauseCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return simpleCommand(c, po, "pause", "Pause services", false,
		func(ctr container.Summary) bool { return ctr.State != container.StateRunning },
		func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerPause(ctx, id, client.ContainerPauseOptions{})
			return err
		}, "Paused")
}
