package compose

import (
	"fmt"
	"sync"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

// newWaitCommand is `compose wait SERVICE...`: block until the services'
// containers stop, print each exit, and exit with the last status seen;
// --down-project then takes the project down.
func newWaitCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var downProject bool
	cmd := &cobra.Command{
		Use:   "wait SERVICE [SERVICE...] [OPTIONS]",
		Short: "Block until containers of all (or specified) services stop.",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, _, err := po.projectName(cmd.Context())
			if err != nil {
				return err
			}
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, false)
			if err != nil {
				return err
			}
			if len(ctrs) == 0 {
				if ctrs, err = serviceContainers(cmd.Context(), c, po, args, true); err != nil {
					return err
				}
			}
			if len(ctrs) == 0 {
				return fmt.Errorf("no containers for project %q", name)
			}
			api, _ := c.Client()
			var mu sync.Mutex
			var code int64
			err = parallel(ctrs, func(ctr container.Summary) error {
				res := api.ContainerWait(cmd.Context(), ctr.ID, client.ContainerWaitOptions{})
				select {
				case r := <-res.Result:
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintf(c.Out(), "container %q exited with status code %d\n", ctr.ID, r.StatusCode)
					code = r.StatusCode
					return nil
				case err := <-res.Error:
					return err
				}
			})
			if err != nil {
				return command.StatusError{Cause: err, Status: command.Message(err), StatusCode: 42}
			}
			if downProject {
				if err := down(cmd.Context(), c, po, downOptions{removeOrphans: true}); err != nil {
					return err
				}
			}
			if code != 0 {
				return command.StatusError{StatusCode: int(code)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&downProject, "down-project", false, "Drops project when the first container stops")
	return cmd
}
