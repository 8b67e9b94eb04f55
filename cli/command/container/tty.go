package container

import (
	"context"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/streams"
)

// monitorTtySize propagates the local terminal size (now and on SIGWINCH)
// to the container's TTY, or the exec's when isExec.
func monitorTtySize(ctx context.Context, cli *command.Cli, api client.APIClient, id string, isExec bool) error {
	resize := func(ctx context.Context, h, w uint) error {
		if isExec {
			_, err := api.ExecResize(ctx, id, client.ExecResizeOptions{Height: h, Width: w})
			return err
		}
		_, err := api.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: h, Width: w})
		return err
	}
	return streams.MonitorTtySize(ctx, cli.Out(), resize)
}
