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

// TopLevel builds the docker shortcuts (run, ps, rm, ...), by name.
func TopLevel() command.Builders {
	return command.Builders{
		"attach": newAttachCommand, "commit": newCommitCommand, "cp": newCpCommand, "create": newCreateCommand,
		"diff": newDiffCommand, "exec": newExecCommand, "export": newExportCommand, "kill": newKillCommand,
		"logs": newLogsCommand, "pause": newPauseCommand, "port": newPortCommand,
		"ps":     func(cli *command.Cli) *cobra.Command { return newPsCommand(cli, "ps") },
		"rename": newRenameCommand, "restart": newRestartCommand,
		"rm":  func(cli *command.Cli) *cobra.Command { return newRmCommand(cli, "rm") },
		"run": newRunCommand, "start": newStartCommand, "stats": newStatsCommand, "stop": newStopCommand,
		"top": newTopCommand, "unpause": newUnpauseCommand, "update": newUpdateCommand, "wait": newWaitCommand,
	}
}
