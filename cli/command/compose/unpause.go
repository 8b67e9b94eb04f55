package compose

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newUnpauseCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return simpleCommand(c, po, "unpause", "Unpause services", false,
		func(ctr container.Summary) bool { return ctr.State != container.StatePaused },
		func(ctx context.Context, api *client.Client, id string) error {
			_, err := api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
			return err
		}, "Unpaused")
}
