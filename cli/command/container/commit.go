package container

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/spf13/cobra"
)

func newCommitCommand(cli *command.Cli) *cobra.Command {
	var o commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.container = args[0]
			if len(args) == 2 {
				o.reference = args[1]
			}
			return runCommit(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container commit, docker commit"},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&o.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.VarP(opts.NewListOpts(&o.changes, "list"), "change", "c", "Apply Dockerfile instruction to the created image")
	f.StringVarP(&o.comment, "message", "m", "", "Commit message")
	f.BoolVarP(&o.pause, "pause", "p", true, "Pause container during commit")
	return cmd
}

type commitOptions struct {
	container, reference string
	pause                bool
	comment, author      string
	changes              []string
}

// runCommit makes an image of the container and prints its ID.
func runCommit(ctx context.Context, cli *command.Cli, o commitOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerCommit(ctx, o.container, client.ContainerCommitOptions{
		Reference: o.reference, Comment: o.comment, Author: o.author, Changes: o.changes, NoPause: !o.pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(cli.Out(), res.ID)
	return nil
}
