// Package cli assembles the berth command tree and runs it, turning errors
// into docker's messages and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	clibuild "github.com/berth-dev/berth/cli/command/build"
	"github.com/berth-dev/berth/cli/command/network"
	"github.com/berth-dev/berth/cli/command/registry"
	"github.com/berth-dev/berth/cli/command/volume"
	"io"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/builder"
	"github.com/berth-dev/berth/cli/command/container"
	"github.com/berth-dev/berth/cli/command/image"
	"github.com/berth-dev/berth/cli/command/system"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/berth-dev/berth/internal/version"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type globalOptions struct {
	hosts                          []string
	debug, version, tls, tlsVerify bool
	logLevel, config, context      string
	tlsCACert, tlsCert, tlsKey     string
}

// NewRootCommand builds the tree on cli for the command line args: only
// the top-level command args name when it names one (the whole tree costs
// a tenth of a short command's CPU time), else all of them (help, errors).
// `compose` is a stand-in that runs berth-compose with the same args (see
// composeStub).
func NewRootCommand(cli *command.Cli, args []string) *cobra.Command {
	root := newRoot(cli)
	topLevel := []command.Builders{container.TopLevel(), image.TopLevel(), groups(args)}
	var named *cobra.Command
	if name := commandName(root.Flags(), args); name != "" && name != "help" {
		for _, b := range topLevel {
			if named = b.One(cli, name); named != nil {
				break
			}
		}
	}
	if named != nil {
		root.AddCommand(named)
	} else if !onlyVersion(root.Flags(), args) {
		for _, b := range topLevel {
			root.AddCommand(b.All(cli)...)
		}
	}
	setupHelp(root)
	return root
}

// onlyVersion reports whether args are global options, --version (or -v)
// among them: berth prints its version and needs no command.
func onlyVersion(flags *pflag.FlagSet, args []string) bool {
	name, version := scanGlobal(flags, args)
	return name == "" && version
}

// groups are the top-level commands other than the container and image
// shortcuts.
func groups(args []string) command.Builders {
	return command.Builders{
		"container": container.NewContainerCommand, "image": imageCommand,
		"builder": builder.NewBuilderCommand,
		"system":  system.NewSystemCommand, "version": system.NewVersionCommand,
		"info": system.NewInfoCommand, "events": system.NewEventsCommand,
		"inspect": system.NewInspectCommand, "build": clibuild.NewBuildCommand,
		"dashboard": system.NewDashboardCommand, "network": network.NewNetworkCommand,
		"volume": volume.NewVolumeCommand, "login": registry.NewLoginCommand,
		"logout":  registry.NewLogoutCommand,
		"compose": func(*command.Cli) *cobra.Command { return composeStub(args) },
	}
}

// imageCommand is the `image` group with `image build`, which lives with
// the other build code.
func imageCommand(cli *command.Cli) *cobra.Command {
	cmd := image.NewImageCommand(cli)
	cmd.AddCommand(clibuild.NewBuildCommand(cli))
	return cmd
}

// commandName is the first argument that is not a global option or an
// option's value: the top-level command's name. It is "" when an
// argument is not one of flags (cobra then reports it with all commands
// built).
func commandName(flags *pflag.FlagSet, args []string) string {
	name, _ := scanGlobal(flags, args)
	return name
}

// scanGlobal reads args as global options up to the first other argument
// (the command's name, returned); version is whether -v/--version came
// before it. On an argument that is not one of flags it returns "", false.
func scanGlobal(flags *pflag.FlagSet, args []string) (name string, version bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", false
		case strings.HasPrefix(a, "--"):
			n, v, inline := strings.Cut(a[2:], "=")
			f := flags.Lookup(n)
			if f == nil {
				return "", false
			}
			if !inline && f.NoOptDefVal == "" {
				i++ // the value
			}
			if f.Name == "version" {
				on, err := strconv.ParseBool(v)
				version = !inline || on && err == nil
			}
		case len(a) > 1 && a[0] == '-':
			// Shorthands, maybe grouped (-Dl debug, -ldebug).
			for j := 1; j < len(a); j++ {
				f := flags.ShorthandLookup(a[j : j+1])
				if f == nil {
					return "", false
				}
				version = version || f.Name == "version"
				if f.NoOptDefVal == "" {
					if j == len(a)-1 {
						i++ // the value
					}
					break
				}
			}
		default:
			return a, version
		}
	}
	return "", version
}

// newRoot is the root command with berth's global options and no
// subcommands.
func newRoot(cli *command.Cli) *cobra.Command {
	var g globalOptions
	root := &cobra.Command{
		Use:              "berth [OPTIONS] COMMAND [ARG...]",
		Short:            "A self-sufficient runtime for containers",
		SilenceErrors:    true,
		SilenceUsage:     true,
		TraverseChildren: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return command.StatusError{Status: fmt.Sprintf("berth: unknown command: berth %s\n\nRun 'berth --help' for more information", args[0]), StatusCode: 1}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.version {
				fmt.Fprintf(cli.Out(), "Berth version %s, build %s\n", version.Version, version.Commit())
				return nil
			}
			cmd.SetOut(cli.Out())
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch g.logLevel {
			case "debug", "info", "warn", "error", "fatal":
			default:
				return command.StatusError{Status: fmt.Sprintf("unable to parse logging level: %s", g.logLevel), StatusCode: 1}
			}
			cli.TLS = command.TLSOptions{TLS: g.tls, Verify: g.tlsVerify, CACert: g.tlsCACert, Cert: g.tlsCert, Key: g.tlsKey}
			cli.Host = command.ResolveHost(g.hosts)
			cli.Debug = g.debug
			return nil
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	f := root.Flags()
	f.BoolVarP(&g.version, "version", "v", false, "Print version information and quit")
	f.StringVar(&g.config, "config", "", "Location of client config files")
	f.StringVarP(&g.context, "context", "c", "", "Name of the context to use to connect to the daemon")
	f.BoolVarP(&g.debug, "debug", "D", false, "Enable debug mode")
	f.VarP(opts.NewListOpts(&g.hosts, "list"), "host", "H", "Daemon socket to connect to")
	f.StringVarP(&g.logLevel, "log-level", "l", "info", `Set the logging level ("debug", "info", "warn", "error", "fatal")`)
	f.BoolVar(&g.tls, "tls", false, "Use TLS; implied by --tlsverify")
	f.StringVar(&g.tlsCACert, "tlscacert", "", "Trust certs signed only by this CA")
	f.StringVar(&g.tlsCert, "tlscert", "", "Path to TLS certificate file")
	f.StringVar(&g.tlsKey, "tlskey", "", "Path to TLS key file")
	f.BoolVar(&g.tlsVerify, "tlsverify", false, "Use TLS and verify the remote")
	return root
}

// flagErrorFunc gives docker's wording for bad flags, with exit status 125.
func flagErrorFunc(cmd *cobra.Command, err error) error {
	return command.StatusError{
		Status: fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			err, cmd.UseLine(), cmd.CommandPath()),
		StatusCode: 125,
	}
}

const usageTemplate = `Usage:  {{if .Runnable}}{{.UseLine}}{{end}}{{if and .HasAvailableSubCommands (not .Runnable)}}{{.CommandPath}} [OPTIONS] COMMAND{{end}}
{{if .HasParent}}
{{.Short}}
{{end}}{{if gt (len .Aliases) 0}}
Aliases:
  {{.NameAndAliases}}
{{end}}{{if .HasAvailableSubCommands}}
Commands:
{{range .Commands}}{{if .IsAvailableCommand}}  {{rpad .Name .NamePadding }} {{.Short}}
{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}
Options:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}
{{end}}{{if .HasAvailableSubCommands}}
Run '{{.CommandPath}} COMMAND --help' for more information on a command.
{{end}}`

func setupHelp(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.SetFlagErrorFunc(flagErrorFunc)
		c.DisableFlagsInUseLine = true
		// Defined here so cobra does not add -h, which run/create use
		// for --hostname; docker's commands only have --help.
		if c.Flags().Lookup("help") == nil {
			if c.HasParent() {
				c.Flags().Bool("help", false, "Print usage")
			} else {
				c.Flags().BoolP("help", "h", false, "Print usage")
			}
		}
		c.SetUsageTemplate(usageTemplate)
		c.SetHelpTemplate("{{.UsageString}}")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// Run executes berth with args (without the program name) and returns the
// process exit status. Errors are printed to errw in docker's wording.
// The API client's connections are closed before it returns.
func Run(ctx context.Context, args []string, in io.ReadCloser, out, errw io.Writer) int {
	cli := command.NewCli(in, out, errw)
	defer cli.Close()
	return runOn(ctx, cli, args, out, errw)
}

// RunToExit is Run for a process that exits with the status at once (the
// berth binary): the API client's connections are left open for the exit
// to close. Closing them first sat between the container's wait reply and
// the exit of run: a shutdown and close per connection and net/http's
// CloseIdleConnections (ftrace, last read to exit_group 0.12 -> 0.07 ms).
func RunToExit(ctx context.Context, args []string, in io.ReadCloser, out, errw io.Writer) int {
	return runOn(ctx, command.NewCli(in, out, errw), args, out, errw)
}

func runOn(ctx context.Context, cli *command.Cli, args []string, out, errw io.Writer) int {
	return execute(ctx, NewRootCommand(cli, args), args, out, errw)
}

// RunCommands is Run for a program that has only the given commands
// under berth's global options (berth-compose).
func RunCommands(ctx context.Context, args []string, in io.ReadCloser, out, errw io.Writer, commands func(*command.Cli) []*cobra.Command) int {
	cli := command.NewCli(in, out, errw)
	defer cli.Close()
	root := newRoot(cli)
	root.AddCommand(commands(cli)...)
	setupHelp(root)
	return execute(ctx, root, args, out, errw)
}

func execute(ctx context.Context, root *cobra.Command, args []string, out, errw io.Writer) int {
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errw)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var se command.StatusError
	if errors.As(err, &se) {
		if se.Status != "" {
			fmt.Fprintln(errw, se.Status)
		} else if se.Cause != nil {
			fmt.Fprintln(errw, command.Message(se.Cause))
		}
		return command.ExitCode(err)
	}
	msg := command.Message(err)
	if strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag") {
		fmt.Fprintln(errw, msg)
		return 125
	}
	fmt.Fprintln(errw, msg)
	return 1
}
