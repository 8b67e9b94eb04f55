package container

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// NewContainerCommand is the `container` management group.
func NewContainerCommand(cli *command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cli.Err())
			return cmd.Help()
		},
	}
	ls := newPsCommand(cli, "ls")
	ls.Aliases = []string{"list", "ps"}
	rm := newRmCommand(cli, "rm")
	rm.Aliases = []string{"remove"}
	cmd.AddCommand(
		newAttachCommand(cli), newCommitCommand(cli), newCpCommand(cli), newCreateCommand(cli),
		newDiffCommand(cli), newExecCommand(cli), newExportCommand(cli), NewInspectCommand(cli),
		newKillCommand(cli), newLogsCommand(cli), ls, newPauseCommand(cli), newPortCommand(cli),
		newPruneCommand(cli), newRenameCommand(cli), newRestartCommand(cli), rm, newRunCommand(cli),
		newStartCommand(cli), newStatsCommand(cli), newStopCommand(cli), newTopCommand(cli), newUnpauseCommand(cli),
		newUpdateCommand(cli), newWaitCommand(cli),
	)
	return cmd
}

// TopLevelCommands are the docker shortcuts (run, ps, rm, ...).
func TopLevelCommands(cli *command.Cli) []*cobra.Command {
	return []*cobra.Command{
		newAttachCommand(cli), newCommitCommand(cli), newCpCommand(cli), newCreateCommand(cli),
		newDiffCommand(cli), newExecCommand(cli), newExportCommand(cli), newKillCommand(cli),
		newLogsCommand(cli), newPauseCommand(cli), newPortCommand(cli), newPsCommand(cli, "ps"),
		newRenameCommand(cli), newRestartCommand(cli), newRmCommand(cli, "rm"), newRunCommand(cli),
		newStartCommand(cli), newStatsCommand(cli), newStopCommand(cli), newTopCommand(cli), newUnpauseCommand(cli),
		newUpdateCommand(cli), newWaitCommand(cli),
	}
}
