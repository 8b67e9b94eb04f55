package cli

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// composeProgram is the program that implements `berth compose`.
const composeProgram = "berth-compose"

// composeStub is `berth compose`: it replaces the berth process with
// berth-compose, given the very same arguments (global options included).
// Compose lives in a program of its own, as Docker's compose plugin does,
// because its libraries cost at start-up: the compose file's JSON schema
// library compiles five meta-schemas when the program starts, which
// doubled the CPU time of every berth command (`berth ps` included) when
// it was linked in.
func composeStub(args []string) *cobra.Command {
	return &cobra.Command{
		Use:                "compose [OPTIONS] COMMAND",
		Short:              "Define and run multi-container applications",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return command.ExecProgram(composeProgram, "'compose'", args)
		},
	}
}
