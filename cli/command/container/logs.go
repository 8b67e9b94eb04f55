package container

import (
	"context"
	"io"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/spf13/cobra"
)

type logsOptions struct {
	follow, timestamps, details bool
	since, until, tail          string
	container                   string
}

func newLogsCommand(cli *command.Cli) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.container = args[0]
			return runLogs(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container logs, docker logs"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "Follow log output")
	f.StringVar(&o.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.StringVar(&o.until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.BoolVarP(&o.timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&o.details, "details", false, "Show extra details provided to logs")
	f.StringVarP(&o.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

// runLogs streams the container's log; TTY containers' logs are raw, the
// others are multiplexed and split back onto stdout and stderr.
func runLogs(ctx context.Context, cli *command.Cli, o logsOptions) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	inspect, err := api.ContainerInspect(ctx, o.container, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	rc, err := api.ContainerLogs(ctx, inspect.Container.ID, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Since: o.since, Until: o.until,
		Timestamps: o.timestamps, Follow: o.follow, Tail: o.tail, Details: o.details,
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	if inspect.Container.Config != nil && inspect.Container.Config.Tty {
		_, err = io.Copy(cli.Out(), rc)
	} else {
		_, err = stdcopy.StdCopy(cli.Out(), cli.Err(), rc)
	}
	return err
}
