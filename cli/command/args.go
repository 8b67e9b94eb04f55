package command

import (
	"fmt"

	"github.com/spf13/cobra"
)

// The validators below reproduce docker's argument errors and their exit
// status (1), including the "See '... --help'" hint.

func usageErr(cmd *cobra.Command, msg string, hint string) error {
	return StatusError{
		Status: fmt.Sprintf("%s: '%s' %s\n\nUsage:  %s\n\n%s '%s --help' for more information",
			cmd.Root().Name(), cmd.CommandPath(), msg, cmd.UseLine(), hint, cmd.CommandPath()),
		StatusCode: 1,
	}
}

func plural(n int) string {
	if n == 1 {
		return "argument"
	}
	return "arguments"
}

// NoArgs rejects any positional argument.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return StatusError{Status: fmt.Sprintf("%s: unknown command: %s %s\n\nRun '%s --help' for more information",
			cmd.Root().Name(), cmd.CommandPath(), args[0], cmd.CommandPath()), StatusCode: 1}
	}
	return usageErr(cmd, "accepts no arguments", "Run")
}

// RequiresMinArgs requires at least min arguments.
func RequiresMinArgs(min int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min {
			return nil
		}
		return usageErr(cmd, fmt.Sprintf("requires at least %d %s", min, plural(min)), "Run")
	}
}

// RequiresMaxArgs allows at most max arguments.
func RequiresMaxArgs(max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= max {
			return nil
		}
		return usageErr(cmd, fmt.Sprintf("requires at most %d %s", max, plural(max)), "Run")
	}
}

// RequiresRangeArgs allows between min and max arguments.
func RequiresRangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		return usageErr(cmd, fmt.Sprintf("requires at least %d and at most %d %s", min, max, plural(max)), "Run")
	}
}

// ExactArgs requires exactly n arguments.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageErr(cmd, fmt.Sprintf("requires %d %s", n, plural(n)), "Run")
	}
}

// WithHelp wraps err as docker does for run/create failures:
// "berth: <err>\n\nRun 'berth run --help' for more information", exit code.
func WithHelp(cmd string, err error, code int) error {
	return StatusError{
		Cause:      err,
		Status:     fmt.Sprintf("berth: %s\n\nRun 'berth %s --help' for more information", Message(err), cmd),
		StatusCode: code,
	}
}
