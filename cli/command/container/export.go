package container

import (
	"context"
	"errors"
	"io"

	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/client"
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
	if o.output == "" && cli.Out().IsTerminal() {
		return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
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
	return writeOutput(cli, rc, o.output)
}

// writeOutput copies r to the file (written to a temp name and renamed, so
// a failed transfer leaves no partial file) or to stdout.
func writeOutput(cli *command.Cli, r io.Reader, path string) error {
	if path == "" {
		_, err := io.Copy(cli.Out(), r)
		return err
	}
	return command.WriteFileAtomic(path, r, "failed to export container")
}
