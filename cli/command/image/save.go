package image

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

type saveOptions struct {
	images   []string
	output   string
	platform string
}

func newSaveCommand(cli *command.Cli) *cobra.Command {
	var o saveOptions
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.images = args
			return runSave(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image save, docker save"},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Write to a file, instead of STDOUT")
	cmd.Flags().StringVar(&o.platform, "platform", "", "Save only the given platform variant")
	return cmd
}

// runSave writes the images as a docker-archive tar to the file or to
// stdout (never to a terminal).
func runSave(ctx context.Context, cli *command.Cli, o saveOptions) error {
	if err := command.CheckArchiveOutput(cli, o.output); err != nil {
		return err
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var sopts []client.ImageSaveOption
	if p, err := ParsePlatform(o.platform); err != nil {
		return err
	} else if p != nil {
		sopts = append(sopts, client.ImageSaveWithPlatforms(*p))
	}
	rc, err := api.ImageSave(ctx, o.images, sopts...)
	if err != nil {
		return err
	}
	defer rc.Close()
	return command.WriteArchive(cli, rc, o.output, "failed to save image")
}
