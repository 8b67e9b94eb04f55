package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newRestartCommand(cli *command.Cli) *cobra.Command {
	var o stopOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.timeoutSet = cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time")
			return runRestart(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container restart, docker restart"},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runRestart(ctx context.Context, cli *command.Cli, o stopOptions, names []string) error {
	ro := client.ContainerRestartOptions{Signal: o.signal, Timeout: o.timeoutPtr()}
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		_, err := api.ContainerRestart(ctx, n, ro)
		return err
	})
}
