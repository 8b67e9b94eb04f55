package image

import (
	"context"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/spf13/cobra"
)

type historyOptions struct {
	image                 string
	human, quiet, noTrunc bool
	format                string
}

func newHistoryCommand(cli *command.Cli) *cobra.Command {
	var o historyOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.image = args[0]
			return runHistory(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker image history, docker history"},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.human, "human", "H", true, "Print sizes and dates in human readable format")
	fl.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	fl.StringVar(&o.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

// runHistory prints the image's layers, newest first, as a table or a template.
func runHistory(ctx context.Context, cli *command.Cli, o historyOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ImageHistory(ctx, o.image)
	if err != nil {
		return err
	}
	f := formatter.Format(o.format)
	if o.format == "" || o.format == formatter.TableFormatKey {
		f = formatter.Format("table " + formatter.DefaultHistoryTable)
		if o.quiet {
			f = "{{.ID}}"
		}
	}
	return formatter.WriteHistory(formatter.Context{Output: cli.Out(), Format: f}, res.Items, !o.noTrunc, o.human)
}
