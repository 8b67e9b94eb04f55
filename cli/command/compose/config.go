package compose

import (
	"fmt"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newConfigCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var format string
	var quiet, servicesOnly bool
	cmd := &cobra.Command{
		Use:   "config [OPTIONS] [SERVICE...]",
		Short: "Parse, resolve and render compose file in canonical format",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := po.load(cmd.Context(), args)
			if err != nil {
				return err
			}
			if quiet {
				return nil
			}
			if servicesOnly {
				for _, s := range p.ServiceNames() {
					fmt.Fprintln(c.Out(), s)
				}
				return nil
			}
			var out []byte
			switch format {
			case "", "yaml":
				out, err = p.MarshalYAML()
			case "json":
				out, err = p.MarshalJSON()
			default:
				return fmt.Errorf("unsupported format %q", format)
			}
			if err != nil {
				return err
			}
			_, err = c.Out().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "Format the output. Values: [yaml | json]")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only validate the configuration, don't print anything")
	cmd.Flags().BoolVar(&servicesOnly, "services", false, "Print the service names, one per line")
	return cmd
}
