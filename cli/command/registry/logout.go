package registry

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/cli/command"
)

// NewLogoutCommand is `berth logout`.
func NewLogoutCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Long:  "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := DockerHubServer
			if len(args) > 0 {
				server = args[0]
			}
			key := ServerKey(server)
			found, err := Erase(key)
			if err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(cli.Out(), "Not logged in to %s\n", key)
				return nil
			}
			fmt.Fprintf(cli.Out(), "Removing login credentials for %s\n", key)
			return nil
		},
	}
}
