package image

import (
	"bytes"
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/inspect"
	"github.com/spf13/cobra"
)

// NewInspectCommand is `image inspect`.
func NewInspectCommand(cli *command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), cli, args, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

// runInspect prints the images' inspect documents, raw JSON or through format.
func runInspect(ctx context.Context, cli *command.Cli, refs []string, format string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	return inspect.Inspect(cli.Out(), refs, format, func(ref string) (any, []byte, error) {
		var raw bytes.Buffer
		res, err := api.ImageInspect(ctx, ref, client.ImageInspectWithRawResponse(&raw))
		return res.InspectResponse, raw.Bytes(), err
	})
}
