package compose

import (
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newStartCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			return parallel(ctrs, func(ctr container.Summary) error {
				if ctr.State == container.StateRunning {
					return nil
				}
				fmt.Fprintf(c.Err(), " Container %s Starting\n", canonicalName(ctr))
				_, err := api.ContainerStart(cmd.Context(), ctr.ID, client.ContainerStartOptions{})
				return err
			})
		},
	}
}
