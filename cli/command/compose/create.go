package compose

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// newCreateCommand is `compose create`: up without starting anything.
func newCreateCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	o := upOptions{noStart: true, detach: true}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [SERVICE...]",
		Short: "Creates containers for a service",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return up(cmd.Context(), c, po, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.build, "build", false, "Build images before starting containers")
	f.BoolVar(&o.noBuild, "no-build", false, "Don't build an image, even if it's policy")
	f.BoolVar(&o.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration and image haven't changed")
	f.BoolVar(&o.noRecreate, "no-recreate", false, "If containers already exist, don't recreate them. Incompatible with --force-recreate")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.StringArrayVar(&o.scale, "scale", nil, "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present")
	return cmd
}
