package image

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/client/pkg/jsonmessage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

type loadOptions struct {
	input    string
	quiet    bool
	platform string
}

func newLoadCommand(cli *command.Cli) *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image load, docker load"},
	}
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the load output")
	cmd.Flags().StringVar(&o.platform, "platform", "", "Load only the given platform variant")
	return cmd
}

// runLoad sends a docker-archive or OCI tar (a file or stdin, never a
// terminal) and shows the daemon's progress.
func runLoad(ctx context.Context, cli *command.Cli, o loadOptions) error {
	var in io.Reader = cli.In()
	if o.input != "" {
		f, err := os.Open(o.input)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	} else if cli.In().IsTerminal() {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	lopts := []client.ImageLoadOption{client.ImageLoadWithQuiet(o.quiet || !cli.Out().IsTerminal())}
	if p, err := ParsePlatform(o.platform); err != nil {
		return err
	} else if p != nil {
		lopts = append(lopts, client.ImageLoadWithPlatforms([]ocispec.Platform{*p}...))
	}
	rc, err := api.ImageLoad(ctx, in, lopts...)
	if err != nil {
		return err
	}
	defer rc.Close()
	return jsonmessage.DisplayJSONMessagesStream(rc, cli.Out(), cli.Out().FD(), cli.Out().IsTerminal(), nil)
}
