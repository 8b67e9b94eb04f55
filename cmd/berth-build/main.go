// Command berth-build is `berth build` for builds that need a BuildKit
// client session (--ssh, --output type=local|tar, type=local caches): berth
// runs it with its own arguments (`berth-build [global options] build ...`).
// It is a program of its own so that BuildKit's client library (gRPC,
// protobuf, the session providers) is linked and initialised by these
// builds only, not by every berth command.
package main

import (
	"context"
	"os"

	"github.com/berth-dev/berth/cli"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/build"
	"github.com/berth-dev/berth/cli/command/build/bksession"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(cli.RunCommands(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr,
		func(c *command.Cli) []*cobra.Command {
			// berth hands over its own arguments: `build`, `image build`
			// or `builder build`.
			cmds := []*cobra.Command{build.NewSessionBuildCommand(c, bksession.Build)}
			for _, group := range []string{"image", "builder"} {
				g := &cobra.Command{Use: group, Hidden: true}
				g.AddCommand(build.NewSessionBuildCommand(c, bksession.Build))
				cmds = append(cmds, g)
			}
			return cmds
		}))
}
