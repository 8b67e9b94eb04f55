package image

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newRemoveCommand(cli *command.Cli, use string) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemove(cmd.Context(), cli, args, force, noPrune)
		},
		Annotations: map[string]string{"aliases": "docker image rm, docker image remove, docker rmi"},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

// runRemove prints docker's "Untagged: x" / "Deleted: sha256:..." lines;
// with -f a missing image is not an error.
func runRemove(ctx context.Context, cli *command.Cli, images []string, force, noPrune bool) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []string
	for _, img := range images {
		res, err := api.ImageRemove(ctx, img, client.ImageRemoveOptions{Force: force, PruneChildren: !noPrune})
		if err != nil {
			if force && isNotFound(err) {
				continue
			}
			errs = append(errs, command.Message(err))
			continue
		}
		for _, d := range res.Items {
			if d.Deleted != "" {
				fmt.Fprintln(cli.Out(), "Deleted:", d.Deleted)
			} else {
				fmt.Fprintln(cli.Out(), "Untagged:", d.Untagged)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}
