package image

import (
	"context"
	"os"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/spf13/cobra"
)

func newImportCommand(cli *command.Cli) *cobra.Command {
	var (
		changes           []string
		message, platform string
	)
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := ""
			if len(args) > 1 {
				ref = args[1]
			}
			return runImport(cmd.Context(), cli, args[0], ref, message, platform, changes)
		},
		Annotations: map[string]string{"aliases": "docker image import, docker import"},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.VarP(opts.NewListOpts(&changes, "list"), "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&message, "message", "m", "", "Set commit message for imported image")
	f.StringVar(&platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

// runImport sends a tarball (a file, stdin with "-", or a URL the daemon
// fetches) and prints the new image ID from the daemon's JSON stream.
func runImport(ctx context.Context, cli *command.Cli, source, ref, message, platform string, changes []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var src client.ImageImportSource
	switch {
	case source == "-":
		src = client.ImageImportSource{Source: cli.In(), SourceName: "-"}
	case strings.HasPrefix(source, "https://") || strings.HasPrefix(source, "http://"):
		src = client.ImageImportSource{SourceName: source}
	default:
		f, err := os.Open(source)
		if err != nil {
			return err
		}
		defer f.Close()
		src = client.ImageImportSource{Source: f, SourceName: "-"}
	}
	io := client.ImageImportOptions{Message: message, Changes: changes}
	if p, err := ParsePlatform(platform); err != nil {
		return err
	} else if p != nil {
		io.Platform = *p
	}
	rc, err := api.ImageImport(ctx, src, ref, io)
	if err != nil {
		return err
	}
	defer rc.Close()
	return jsonmessage.DisplayJSONMessagesStream(rc, cli.Out(), cli.Out().FD(), cli.Out().IsTerminal(), nil)
}
