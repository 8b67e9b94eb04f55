package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// stopOptions are the flags of stop and restart.
type stopOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
}

func newStopCommand(cli *command.Cli) *cobra.Command {
	var o stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.timeoutSet = cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time")
			return runStop(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container stop, docker stop"},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// addFlags declares --signal and --timeout (and the deprecated, hidden
// --time) for stop and restart.
func (o *stopOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&o.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&o.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = f.MarkHidden("time")
}

// timeoutPtr is the timeout to send: nil (the container's own) unless a
// timeout flag was given.
func (o stopOptions) timeoutPtr() *int {
	if !o.timeoutSet {
		return nil
	}
	t := o.timeout
	return &t
}

func runStop(ctx context.Context, cli *command.Cli, o stopOptions, names []string) error {
	so := client.ContainerStopOptions{Signal: o.signal, Timeout: o.timeoutPtr()}
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		_, err := api.ContainerStop(ctx, n, so)
		return err
	})
}
