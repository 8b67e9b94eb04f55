package image

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newTagCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTag(cmd.Context(), cli, args[0], args[1])
		},
		Annotations: map[string]string{"aliases": "docker image tag, docker tag"},
	}
}

// runTag makes target a name of the image source names.
func runTag(ctx context.Context, cli *command.Cli, source, target string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	_, err = api.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return err
}
