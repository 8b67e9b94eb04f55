// Command berth-compose is `berth compose`: berth runs it with its own
// arguments (`berth-compose [global options] compose COMMAND ...`). It is a
// program of its own so that the compose libraries' start-up cost is paid
// by compose only, not by every berth command.
package main

import (
	"context"
	"os"

	"github.com/berth-dev/berth/cli"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/compose"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(cli.RunCommands(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr,
		func(c *command.Cli) []*cobra.Command { return []*cobra.Command{compose.NewComposeCommand(c)} }))
}
