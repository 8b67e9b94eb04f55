package container

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

type rmOptions struct{ force, volumes, links bool }

func newRmCommand(cli *command.Cli, use string) *cobra.Command {
	var o rmOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container rm, docker container remove, docker rm"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&o.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	f.BoolVarP(&o.links, "link", "l", false, "Remove the specified link")
	return cmd
}

// runRm removes containers; with -f a missing container is not an error,
// as in docker.
func runRm(ctx context.Context, cli *command.Cli, o rmOptions, names []string) error {
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		if n == "" {
			return errors.New("Container name cannot be empty")
		}
		_, err := api.ContainerRemove(ctx, n, client.ContainerRemoveOptions{Force: o.force, RemoveVolumes: o.volumes, RemoveLinks: o.links})
		if err != nil && o.force && cerrdefs.IsNotFound(err) {
			return errSkip
		}
		return err
	})
}
