package compose

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/image"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
)

// newPullCommand is `compose pull`: the images of the selected services
// (those only built skipped), with the stored registry credentials.
func newPullCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var quiet, ignoreFailures, ignoreBuildable bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull service images",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := po.load(cmd.Context(), args)
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range p.ServiceNames() {
				s := p.Services[name]
				if s.Image == "" || (s.Build != nil && (ignoreBuildable || s.PullPolicy == types.PullPolicyBuild)) {
					fmt.Fprintf(c.Err(), " %s Skipped - No image to be pulled\n", name)
					continue
				}
				if err := pullImage(cmd.Context(), c, name, s.Image, quiet); err != nil {
					if !ignoreFailures {
						return err
					}
					fmt.Fprintf(c.Err(), " %s Error %s\n", name, command.Message(err))
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 && !ignoreFailures {
				return errors.Join(errs...)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Pull without printing progress information")
	f.BoolVar(&ignoreFailures, "ignore-pull-failures", false, "Pull what it can and ignores images with pull failures")
	f.BoolVar(&ignoreBuildable, "ignore-buildable", false, "Ignore images that can be built")
	return cmd
}

// pullImage pulls one service's image, saying so as compose does.
func pullImage(ctx context.Context, c *command.Cli, service, ref string, quiet bool) error {
	if !quiet {
		fmt.Fprintf(c.Err(), " %s Pulling\n", service)
	}
	if err := image.Pull(ctx, c, ref, "", false, io.Discard); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(c.Err(), " %s Pulled\n", service)
	}
	return nil
}
