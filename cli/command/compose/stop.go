package compose

import (
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newStopCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] [SERVICE...]",
		Short: "Stop services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, false)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			opts := client.ContainerStopOptions{}
			if cmd.Flags().Changed("timeout") {
				opts.Timeout = &timeout
			}
			return parallel(ctrs, func(ctr container.Summary) error {
				fmt.Fprintf(c.Err(), " Container %s Stopping\n", canonicalName(ctr))
				_, err := api.ContainerStop(cmd.Context(), ctr.ID, opts)
				return err
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Specify a shutdown timeout in seconds")
	return cmd
}
