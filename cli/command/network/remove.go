package network

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

func newRemoveCommand(cli *command.Cli) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemove(cmd.Context(), cli, args, force)
		},
		Annotations: map[string]string{"aliases": "docker network rm, docker network remove"},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

// runRemove prints each removed network as named on the command line; a
// failure is printed to stderr and the others are still tried. Any failure
// ends with "exit status 1", exactly as docker reports it.
func runRemove(ctx context.Context, cli *command.Cli, names []string, force bool) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	failed := false
	for _, name := range names {
		if _, err := api.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil {
			if force && cerrdefs.IsNotFound(err) {
				continue
			}
			if client.IsErrConnectionFailed(err) {
				return err
			}
			fmt.Fprintln(cli.Err(), command.Message(err))
			failed = true
			continue
		}
		fmt.Fprintln(cli.Out(), name)
	}
	if failed {
		return command.StatusError{Status: "exit status 1", StatusCode: 1}
	}
	return nil
}
