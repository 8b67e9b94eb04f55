package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newUpdateCommand(cli *command.Cli) *cobra.Command {
	var o updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.noteChanged(cmd.Flags())
			return runUpdate(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container update, docker update"},
	}
	o.bind(cmd.Flags())
	return cmd
}

// bind defines update's flags on f, into o.
func (o *updateOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&o.restart, "restart", "", "Restart policy to apply when a container exits")
	o.limitFlags.bind(f)
}

// noteChanged keeps the parsed flag set: which flags were given decides
// what the request changes.
func (o *updateOptions) noteChanged(f *pflag.FlagSet) { o.flags = f }

// updateOptions are update's flags, as parsed.
type updateOptions struct {
	restart string
	limitFlags
	flags *pflag.FlagSet
}

// runUpdate applies the changed settings to each container, printing the
// daemon's warnings.
func runUpdate(ctx context.Context, cli *command.Cli, o updateOptions, names []string) error {
	uo, err := o.updateOptions()
	if err != nil {
		return err
	}
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		r, err := api.ContainerUpdate(ctx, n, uo)
		for _, w := range r.Warnings {
			fmt.Fprintln(cli.Err(), w)
		}
		return err
	})
}

// updateOptions parses the flags into the API's request; no flag is an
// error.
func (o updateOptions) updateOptions() (client.ContainerUpdateOptions, error) {
	uo := client.ContainerUpdateOptions{}
	if o.flags.Changed("restart") {
		rp, err := opts.ParseRestartPolicy(o.restart)
		if err != nil {
			return uo, err
		}
		uo.RestartPolicy = &rp
	}
	if o.limitFlags.given(o.flags) {
		res := &container.Resources{}
		if err := o.limitFlags.apply(res, o.flags); err != nil {
			return uo, err
		}
		uo.Resources = res
	}
	if uo.Resources == nil && uo.RestartPolicy == nil {
		return uo, errors.New("you must provide one or more flags when using this command")
	}
	return uo, nil
}
