package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/berth-dev/berth/cli/streams"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

type runOptions struct {
	detach     bool
	autoRemove bool
	sigProxy   bool
	detachKeys string
}

func newRunCommand(cli *command.Cli) *cobra.Command {
	var ro runOptions
	var copts *containerOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			copts.image, copts.args = args[0], args[1:]
			return runRun(cmd.Context(), cli, ro, copts)
		},
		Annotations: map[string]string{"aliases": "docker container run, docker run"},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&ro.detach, "detach", "d", false, "Run container in background and print container ID")
	f.BoolVar(&ro.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&ro.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	f.BoolVar(&ro.autoRemove, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	copts = addFlags(f)
	return cmd
}

// runRun is docker's run: create (pulling if needed), attach before start
// unless detached, start, then wait and exit with the container's status.
func runRun(ctx context.Context, cli *command.Cli, ro runOptions, copts *containerOptions) error {
	cc, err := prepareRun(cli, &ro, copts)
	if err != nil {
		return err
	}
	cfg := cc.Config
	api, err := cli.Client()
	if err != nil {
		return toStatusError(err)
	}
	id, err := createContainer(ctx, cli, cc, copts)
	if err != nil {
		return toStatusError(err)
	}
	attach := cfg.AttachStdin || cfg.AttachStdout || cfg.AttachStderr
	// Signals are proxied while the CLI stays attached, as docker's CLI
	// does: a detached run ends at start, and catching every signal cost
	// it ~0.65 ms of CPU (a round trip to Go's signal thread per signal).
	sigReady := func() {}
	if ro.sigProxy && attach {
		var stop func()
		sigReady, stop = forwardSignalsAsync(ctx, api, id)
		defer stop()
	}
	var streamErr <-chan error
	cancelIO := func() {}
	if attach {
		var closeIO func()
		if streamErr, cancelIO, closeIO, err = attachRun(ctx, cli, api, id, cfg, ro.detachKeys); err != nil {
			return toStatusError(err)
		}
		defer closeIO()
	}

	// Wait is registered before start so a fast exit is not missed; it
	// uses its own context so cancelling the streams does not cancel it.
	var status <-chan int
	if !ro.detach {
		status = waitExitOrRemoved(context.WithoutCancel(ctx), cli, api, id, ro.autoRemove)
	}
	sigReady()
	if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		if attach {
			cancelIO()
			<-streamErr
		}
		if ro.autoRemove && status != nil {
			<-status
		}
		return toStatusError(err)
	}
	if ro.detach {
		fmt.Fprintln(cli.Out(), id)
		return nil
	}
	return waitRun(ctx, cli, api, id, cfg.Tty, streamErr, status)
}

// prepareRun parses the flags and checks the combinations run refuses
// (exit 125 with the usage hint, as docker); detached runs attach nothing.
func prepareRun(cli *command.Cli, ro *runOptions, copts *containerOptions) (*containerConfig, error) {
	cc, err := copts.parse()
	if err != nil {
		return nil, command.WithHelp("run", err, 125)
	}
	if err := opts.ValidateDetachKeys(ro.detachKeys); err != nil {
		return nil, command.WithHelp("run", err, 125)
	}
	cfg, hostCfg := cc.Config, cc.HostConfig
	hostCfg.AutoRemove = ro.autoRemove
	if ro.autoRemove && !hostCfg.RestartPolicy.IsNone() {
		return nil, command.WithHelp("run", errors.New("conflicting options: cannot specify both --restart and --rm"), 125)
	}
	if cfg.Tty {
		ro.sigProxy = false
	}
	if !ro.detach {
		if err := cli.In().CheckTty(cfg.AttachStdin, cfg.Tty); err != nil {
			return nil, err
		}
		return cc, nil
	}
	if len(copts.attach) != 0 {
		return nil, command.WithHelp("run", errors.New("conflicting options: cannot specify both --attach and --detach"), 125)
	}
	cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, cfg.StdinOnce = false, false, false, false
	return cc, nil
}

// attachRun attaches to the created container's streams and starts copying
// them; cancel stops the copy, closeIO (deferred by the caller) also closes
// the connection.
func attachRun(ctx context.Context, cli *command.Cli, api client.APIClient, id string, cfg *container.Config, detachKeys string) (streamErr <-chan error, cancel, closeIO func(), err error) {
	ioCtx, cancelCtx := context.WithCancel(ctx)
	resp, err := api.ContainerAttach(ioCtx, id, client.ContainerAttachOptions{
		Stream:     true,
		Stdin:      cfg.AttachStdin,
		Stdout:     cfg.AttachStdout,
		Stderr:     cfg.AttachStderr,
		DetachKeys: detachKeys,
	})
	if err != nil {
		cancelCtx()
		return nil, nil, nil, err
	}
	streamErr = startStreaming(ioCtx, cli, resp.HijackedResponse, cfg.Tty, cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, detachKeys)
	return streamErr, cancelCtx, func() { cancelCtx(); resp.Close() }, nil
}

// waitRun follows a started foreground container: the TTY's size, the
// streams until they end (a detach ends run with 0) and the exit status.
func waitRun(ctx context.Context, cli *command.Cli, api client.APIClient, id string, tty bool, streamErr <-chan error, status <-chan int) error {
	if tty && cli.Out().IsTerminal() {
		if err := monitorTtySize(ctx, cli, api, id, false); err != nil {
			fmt.Fprintln(cli.Err(), "Error monitoring TTY size:", err)
		}
	}
	if streamErr != nil {
		if err := <-streamErr; err != nil {
			if streams.IsDetach(err) {
				return nil
			}
			return err
		}
	}
	if code := <-status; code != 0 {
		return command.StatusError{StatusCode: code}
	}
	return nil
}

// startStreaming runs the hijacked copy in the background, picking the local
// streams as docker does (stderr goes to stdout under a TTY).
func startStreaming(ctx context.Context, cli *command.Cli, resp client.HijackedResponse, tty, stdin, stdout, stderr bool, detachKeys string) <-chan error {
	h := &streams.HijackedIO{Resp: resp, Tty: tty, DetachKeys: detachKeys}
	if stdin {
		h.In = cli.In()
	}
	if stdout {
		h.Out = cli.Out()
	}
	if stderr {
		if tty {
			h.Err = cli.Out()
		} else {
			h.Err = cli.Err()
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- h.Stream(ctx) }()
	return errc
}

// waitExitOrRemoved waits for the next exit, or for removal with --rm, and
// yields the exit status (125 when waiting itself failed).
func waitExitOrRemoved(ctx context.Context, cli *command.Cli, api client.APIClient, id string, waitRemove bool) <-chan int {
	cond := container.WaitConditionNextExit
	if waitRemove {
		cond = container.WaitConditionRemoved
	}
	res := api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: cond})
	out := make(chan int, 1)
	go func() {
		select {
		case <-ctx.Done():
			return
		case r := <-res.Result:
			if r.Error != nil {
				fmt.Fprintf(cli.Err(), "Error waiting for container: %v\n", r.Error.Message)
				out <- 125
				return
			}
			out <- int(r.StatusCode)
		case err := <-res.Error:
			fmt.Fprintf(cli.Err(), "Error waiting for container: %v\n", command.Message(err))
			out <- 125
		}
	}()
	return out
}

// toStatusError maps a create/start failure to docker's exit status: 127
// when the command was not found, 126 when it could not be invoked, 125
// otherwise; the message carries the "Run 'berth run --help'" hint.
func toStatusError(err error) error {
	var se command.StatusError
	if errors.As(err, &se) {
		return err
	}
	if client.IsErrConnectionFailed(err) {
		return command.WithHelp("run", err, 125)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory") ||
		strings.Contains(msg, "system cannot find the file specified"):
		return command.WithHelp("run", err, 127)
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "is a directory"):
		return command.WithHelp("run", err, 126)
	}
	return command.WithHelp("run", err, 125)
}
