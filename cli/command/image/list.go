package image

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/spf13/cobra"
)

type imagesOptions struct {
	matchName                    string
	quiet, all, noTrunc, digests bool
	format                       string
	filters                      []string
}

func newImagesCommand(cli *command.Cli, use string) *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				o.matchName = args[0]
			}
			return runImages(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image ls, docker image list, docker images"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVarP(&o.all, "all", "a", false, "Show all images (default hides intermediate images)")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVar(&o.digests, "digests", false, "Show digests")
	f.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	f.VarP(opts.NewListOpts(&o.filters, "filter"), "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runImages(ctx context.Context, cli *command.Cli, o imagesOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	filters, err := opts.ParseFilters(o.filters)
	if err != nil {
		return err
	}
	if o.matchName != "" {
		filters.Add("reference", o.matchName)
	}
	res, err := api.ImageList(ctx, client.ImageListOptions{All: o.all, Filters: filters})
	if err != nil {
		return err
	}
	fctx := formatter.Context{Output: cli.Out(), Format: formatter.ImageFormat(o.format, o.quiet, o.digests)}
	return formatter.WriteImages(fctx, res.Items, o.digests, !o.noTrunc)
}
