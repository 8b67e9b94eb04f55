package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newRemoveCommand(cli *command.Cli) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Long:    "Remove one or more volumes. You cannot remove a volume that is in use by a container.",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemove(cmd.Context(), cli, args, force)
		},
		Annotations: map[string]string{"aliases": "docker volume rm, docker volume remove"},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

// runRemove prints each removed volume; failures are collected and printed
// together at the end (exit status 1), as docker does. With -f the daemon
// itself ignores missing volumes, so their names are printed too.
func runRemove(ctx context.Context, cli *command.Cli, names []string, force bool) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range names {
		if _, err := api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: force}); err != nil {
			if client.IsErrConnectionFailed(err) {
				return err
			}
			errs = append(errs, command.Message(err))
			continue
		}
		fmt.Fprintln(cli.Out(), name)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}
