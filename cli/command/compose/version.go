package compose

import (
	"fmt"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newVersionCommand(c *command.Cli) *cobra.Command {
	var short bool
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the Docker Compose version information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case short:
				fmt.Fprintln(c.Out(), composeVersion)
			case format == "json":
				fmt.Fprintf(c.Out(), "{\"version\":\"v%s\"}\n", composeVersion)
			case format == "" || format == "pretty":
				fmt.Fprintf(c.Out(), "Berth Compose version v%s\n", composeVersion)
			default:
				return fmt.Errorf("ERROR: Invalid format '%s'. Supported format types: pretty, json", format)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "Shows only Compose's version number")
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format the output. Values: [pretty | json]")
	return cmd
}
