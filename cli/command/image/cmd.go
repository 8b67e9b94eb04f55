package image

import (
	"github.com/berth-dev/berth/cli/command"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// NewImageCommand is the `image` management group.
func NewImageCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cli.Err())
			return cmd.Help()
		},
	}
	ls := newImagesCommand(cli, "ls")
	ls.Aliases = []string{"list"}
	rm := newRemoveCommand(cli, "rm")
	rm.Aliases = []string{"remove"}
	cmd.AddCommand(newHistoryCommand(cli), newImportCommand(cli), NewInspectCommand(cli), newLoadCommand(cli),
		ls, newPruneCommand(cli), newPullCommand(cli), newPushCommand(cli), rm, newSaveCommand(cli), newTagCommand(cli))
	return cmd
}

// TopLevel builds the docker shortcuts (images, pull, rmi, ...), by name.
func TopLevel() command.Builders {
	return command.Builders{
		"images":  func(cli *command.Cli) *cobra.Command { return newImagesCommand(cli, "images") },
		"history": newHistoryCommand, "import": newImportCommand, "load": newLoadCommand,
		"pull": newPullCommand, "push": newPushCommand,
		"rmi":  func(cli *command.Cli) *cobra.Command { return newRemoveCommand(cli, "rmi") },
		"save": newSaveCommand, "tag": newTagCommand,
	}
}
