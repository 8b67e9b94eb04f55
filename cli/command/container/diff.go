package container

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newDiffCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.Context(), cli, args[0])
		},
		Annotations: map[string]string{"aliases": "docker container diff, docker diff"},
	}
}

// runDiff prints one "C|A|D path" line per change of the container's filesystem.
func runDiff(ctx context.Context, cli *command.Cli, name string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerDiff(ctx, name, client.ContainerDiffOptions{})
	if err != nil {
		return err
	}
	for _, c := range res.Changes {
		fmt.Fprintf(cli.Out(), "%s %s\n", changeKind(c.Kind), c.Path)
	}
	return nil
}

func changeKind(k container.ChangeType) string {
	switch k {
	case container.ChangeModify:
		return "C"
	case container.ChangeAdd:
		return "A"
	case container.ChangeDelete:
		return "D"
	}
	return "?"
}
