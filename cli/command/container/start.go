package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/streams"
	"github.com/spf13/cobra"
)

type startOptions struct {
	attach     bool
	openStdin  bool
	detachKeys string
	containers []string
}

func newStartCommand(cli *command.Cli) *cobra.Command {
	var o startOptions
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.containers = args
			return runStart(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container start, docker start"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	f.BoolVarP(&o.openStdin, "interactive", "i", false, "Attach container's STDIN")
	f.StringVar(&o.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runStart starts containers. With -a/-i (one container only) it attaches
// first and exits with the container's status, like docker.
func runStart(ctx context.Context, cli *command.Cli, o startOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	if !o.attach && !o.openStdin {
		var failed []string
		for _, c := range o.containers {
			if _, err := api.ContainerStart(ctx, c, client.ContainerStartOptions{}); err != nil {
				fmt.Fprintln(cli.Err(), command.Message(err))
				failed = append(failed, c)
				continue
			}
			fmt.Fprintln(cli.Out(), c)
		}
		if len(failed) > 0 {
			return errors.New("Error: failed to start containers: " + strings.Join(failed, ", "))
		}
		return nil
	}
	if len(o.containers) > 1 {
		return errors.New("you cannot start and attach multiple containers at once")
	}
	name := o.containers[0]
	inspect, err := api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := inspect.Container
	cfg := c.Config
	if !cfg.Tty {
		stop := forwardSignals(ctx, api, c.ID)
		defer stop()
	}
	stdin := o.openStdin && cfg.OpenStdin
	if err := cli.In().CheckTty(stdin, cfg.Tty); err != nil && stdin {
		return err
	}
	ioCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := api.ContainerAttach(ioCtx, c.ID, client.ContainerAttachOptions{
		Stream: true, Stdin: stdin, Stdout: true, Stderr: true, DetachKeys: o.detachKeys,
	})
	if err != nil {
		return err
	}
	defer resp.Close()
	streamErr := startStreaming(ioCtx, cli, resp.HijackedResponse, cfg.Tty, stdin, true, true, o.detachKeys)
	status := waitExitOrRemoved(context.WithoutCancel(ctx), cli, api, c.ID, c.HostConfig != nil && c.HostConfig.AutoRemove)
	if _, err := api.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		cancel()
		<-streamErr
		return command.StatusError{Cause: err, Status: command.Message(err), StatusCode: 1}
	}
	if cfg.Tty && cli.Out().IsTerminal() {
		if err := monitorTtySize(ctx, cli, api, c.ID, false); err != nil {
			fmt.Fprintln(cli.Err(), "Error monitoring TTY size:", err)
		}
	}
	if err := <-streamErr; err != nil {
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
