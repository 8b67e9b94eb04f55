package image

import (
	"context"
	"fmt"
	"io"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"
)

type pushOptions struct {
	name       string
	all, quiet bool
	platform   string
}

func newPushCommand(cli *command.Cli) *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runPush(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image push, docker push"},
	}
	cmd.Flags().BoolVarP(&o.all, "all-tags", "a", false, "Push all tags of an image to the repository")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	cmd.Flags().StringVar(&o.platform, "platform", "", "Push a platform-specific manifest as a single-platform image to the registry.")
	return cmd
}

// runPush uploads the image with the stored credentials of its registry,
// showing progress (or, quiet, only the name at the end).
func runPush(ctx context.Context, cli *command.Cli, o pushOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	po := client.ImagePushOptions{All: o.all, RegistryAuth: registryAuth(o.name)}
	if p, err := ParsePlatform(o.platform); err != nil {
		return err
	} else if p != nil {
		po.Platform = p
	}
	rc, err := api.ImagePush(ctx, o.name, po)
	if err != nil {
		return err
	}
	defer rc.Close()
	var out io.Writer = cli.Out()
	if o.quiet {
		out = io.Discard
	}
	if err := jsonmessage.DisplayJSONMessagesStream(rc, out, cli.Out().FD(), cli.Out().IsTerminal() && !o.quiet, nil); err != nil {
		return err
	}
	if o.quiet {
		fmt.Fprintln(cli.Out(), o.name)
	}
	return nil
}
