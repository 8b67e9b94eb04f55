package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newWaitCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd.Context(), cli, args)
		},
		Annotations: map[string]string{"aliases": "docker container wait, docker wait"},
	}
}

func runWait(ctx context.Context, cli *command.Cli, names []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		res := api.ContainerWait(ctx, n, client.ContainerWaitOptions{})
		select {
		case r := <-res.Result:
			fmt.Fprintf(cli.Out(), "%d\n", r.StatusCode)
		case err := <-res.Error:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
