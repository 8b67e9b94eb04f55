package compose

import (
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newRmCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var force, stop, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] [SERVICE...]",
		Short: "Removes stopped service containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			if !force {
				return fmt.Errorf("berth compose rm asks no questions: pass -f to remove %d container(s)", len(ctrs))
			}
			api, _ := c.Client()
			var targets []container.Summary
			for _, ctr := range ctrs {
				if ctr.State == container.StateRunning && !stop {
					continue
				}
				targets = append(targets, ctr)
			}
			if len(targets) == 0 {
				fmt.Fprintln(c.Err(), "No stopped containers")
				return nil
			}
			return parallel(targets, func(ctr container.Summary) error {
				fmt.Fprintf(c.Err(), " Container %s Removing\n", canonicalName(ctr))
				_, err := api.ContainerRemove(cmd.Context(), ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: volumes})
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Don't ask to confirm removal")
	cmd.Flags().BoolVarP(&stop, "stop", "s", false, "Stop the containers, if required, before removing")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove any anonymous volumes attached to containers")
	return cmd
}
