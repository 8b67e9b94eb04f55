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

type attachOptions struct {
	noStdin    bool
	proxy      bool
	detachKeys string
	container  string
}

func newAttachCommand(cli *command.Cli) *cobra.Command {
	var o attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.container = args[0]
			return runAttach(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container attach, docker attach"},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&o.proxy, "sig-proxy", true, "Proxy all received signals to the process")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runAttach attaches to a running container and exits with its status when
// it stops, or 0 when the user detaches.
func runAttach(ctx context.Context, cli *command.Cli, o attachOptions) error {
	if err := opts.ValidateDetachKeys(o.detachKeys); err != nil {
		return err
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerInspect(ctx, o.container, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := res.Container
	if c.State != nil {
		switch {
		case !c.State.Running:
			return errors.New("You cannot attach to a stopped container, start it first")
		case c.State.Paused:
			return errors.New("You cannot attach to a paused container, unpause it first")
		case c.State.Restarting:
			return errors.New("You cannot attach to a restarting container, wait until it is running")
		}
	}
	stdin := !o.noStdin && c.Config.OpenStdin
	if err := cli.In().CheckTty(stdin, c.Config.Tty); err != nil {
		return err
	}
	if o.proxy && !c.Config.Tty {
		stop := forwardSignals(ctx, api, c.ID)
		defer stop()
	}
	// Registered before attaching so an exit right after is seen.
	status := waitExitOrRemoved(context.WithoutCancel(ctx), cli, api, c.ID, false)
	resp, err := api.ContainerAttach(ctx, c.ID, client.ContainerAttachOptions{
		Stream: true, Stdin: stdin, Stdout: true, Stderr: true, DetachKeys: o.detachKeys,
	})
	if err != nil {
		return err
	}
	defer resp.Close()
	if c.Config.Tty && cli.Out().IsTerminal() {
		if err := monitorTtySize(ctx, cli, api, c.ID, false); err != nil {
			fmt.Fprintln(cli.Err(), "Error monitoring TTY size:", err)
		}
	}
	if err := <-startStreaming(ctx, cli, resp.HijackedResponse, c.Config.Tty, stdin, true, true, o.detachKeys); err != nil {
		if streams.IsDetach(err) {
			return nil
		}
		return err
	}
	if code := <-status; code != 0 {
		return command.StatusError{StatusCode: code}
	}
	return nil
}
