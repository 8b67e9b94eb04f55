package container

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/spf13/cobra"
)

type topOptions struct {
	container string
	psArgs    []string
}

func newTopCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTop(cmd.Context(), cli, topOptions{container: args[0], psArgs: args[1:]})
		},
		Annotations: map[string]string{"aliases": "docker container top, docker top"},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// runTop prints the container's processes as a table, ps's titles first.
func runTop(ctx context.Context, cli *command.Cli, o topOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerTop(ctx, o.container, client.ContainerTopOptions{Arguments: o.psArgs})
	if err != nil {
		return err
	}
	w := formatter.NewTabWriter(cli.Out(), 20, 1, 3)
	fmt.Fprintln(w, strings.Join(res.Titles, "\t"))
	for _, p := range res.Processes {
		fmt.Fprintln(w, strings.Join(p, "\t"))
	}
	return w.Flush()
}
