package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

type exportOptions struct {
	container string
	output    string
}

func newExportCommand(cli *command.Cli) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.container = args[0]
			return runExport(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container export, docker export"},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// runExport writes the container's filesystem as a tar to the file or to
// stdout (never to a terminal).
func runExport(ctx context.Context, cli *command.Cli, o exportOptions) error {
	if err := command.CheckArchiveOutput(cli, o.output); err != nil {
		return err
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	rc, err := api.ContainerExport(ctx, o.container, client.ContainerExportOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return command.WriteArchive(cli, rc, o.output, "failed to export container")
}
