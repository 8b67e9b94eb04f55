package container

import (
	"errors"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newRenameCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			if args[1] == "" {
				return errors.New("Error: Neither old nor new names may be empty")
			}
			if _, err := api.ContainerRename(cmd.Context(), args[0], client.ContainerRenameOptions{NewName: args[1]}); err != nil {
				return fmt.Errorf("Error: failed to rename container named %s: %w", args[0], err)
			}
			return nil
		},
		Annotations: map[string]string{"aliases": "docker container rename, docker rename"},
	}
}
