package container

import (
	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/inspect"
	"github.com/spf13/cobra"
)

// NewInspectCommand is `container inspect`.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var (
		format string
		size   bool
	)
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			return inspect.Inspect(cli.Out(), args, format, func(ref string) (any, []byte, error) {
				res, err := api.ContainerInspect(cmd.Context(), ref, client.ContainerInspectOptions{Size: size})
				return res.Container, res.Raw, err
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	cmd.Flags().BoolVarP(&size, "size", "s", false, "Display total file sizes")
	return cmd
}
