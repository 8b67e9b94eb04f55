package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/berth-dev/berth/cli/streams"
	"github.com/spf13/cobra"
)

type execOptions struct {
	detachKeys, user, workdir string
	interactive, tty, detach  bool
	privileged                bool
	env, envFile              []string
	container                 string
	command                   []string
}

func newExecCommand(cli *command.Cli) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  command.RequiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.container, o.command = args[0], args[1:]
			return runExec(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container exec, docker exec"},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to the command")
	f.VarP(opts.NewListOpts(&o.env, "list"), "env", "e", "Set environment variables")
	f.Var(opts.NewListOpts(&o.envFile, "list"), "env-file", "Read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	return cmd
}

// runExec creates an exec, then either starts it detached or attaches to it
// and exits with the exec's exit code.
func runExec(ctx context.Context, cli *command.Cli, o execOptions) error {
	if err := opts.ValidateDetachKeys(o.detachKeys); err != nil {
		return err
	}
	env, err := opts.ReadKVEnvStrings(o.envFile, o.env)
	if err != nil {
		return err
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	// docker checks the container first so the error names it.
	if _, err := api.ContainerInspect(ctx, o.container, client.ContainerInspectOptions{}); err != nil {
		return err
	}
	eo := client.ExecCreateOptions{
		User: o.user, Privileged: o.privileged, TTY: o.tty, Env: env, WorkingDir: o.workdir,
		Cmd: o.command, DetachKeys: o.detachKeys,
	}
	if !o.detach {
		eo.AttachStdin = o.interactive
		eo.AttachStdout = true
		eo.AttachStderr = true
		if err := cli.In().CheckTty(eo.AttachStdin, o.tty); err != nil {
			return err
		}
	}
	if o.tty {
		h, w := cli.Out().GetTtySize()
		eo.ConsoleSize = client.ConsoleSize{Height: h, Width: w}
	}
	created, err := api.ExecCreate(ctx, o.container, eo)
	if err != nil {
		return err
	}
	if created.ID == "" {
		return errors.New("exec ID empty")
	}
	if o.detach {
		_, err := api.ExecStart(ctx, created.ID, client.ExecStartOptions{Detach: true, TTY: o.tty, ConsoleSize: eo.ConsoleSize})
		return err
	}
	resp, err := api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: o.tty, ConsoleSize: eo.ConsoleSize})
	if err != nil {
		return err
	}
	defer resp.Close()
	errc := startStreaming(ctx, cli, resp.HijackedResponse, o.tty, eo.AttachStdin, true, true, o.detachKeys)
	if o.tty && cli.Out().IsTerminal() {
		if err := monitorTtySize(ctx, cli, api, created.ID, true); err != nil {
			fmt.Fprintln(cli.Err(), "Error monitoring TTY size:", err)
		}
	}
	if err := <-errc; err != nil {
		if streams.IsDetach(err) {
			return nil
		}
		return err
	}
	ins, err := api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return err
	}
	if ins.ExitCode != 0 {
		return command.StatusError{StatusCode: ins.ExitCode}
	}
	return nil
}
