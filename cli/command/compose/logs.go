package compose

import (
	"context"
	"io"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newLogsCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var follow, timestamps, noPrefix, noColor bool
	var tail string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			var names []string
			for _, ctr := range ctrs {
				names = append(names, shortName(ctr))
			}
			pr := newLogPrinter(c.Out(), names, c.Out().IsTerminal() && !noColor, noPrefix)
			return parallel(ctrs, func(ctr container.Summary) error {
				rc, err := api.ContainerLogs(cmd.Context(), ctr.ID, client.ContainerLogsOptions{
					ShowStdout: true, ShowStderr: true, Follow: follow, Tail: tail, Timestamps: timestamps})
				if err != nil {
					return err
				}
				defer rc.Close()
				return copyOutput(cmd.Context(), api, ctr.ID, rc, pr.writer(shortName(ctr)))
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs for each container")
	f.BoolVar(&noPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	f.BoolVar(&noColor, "no-color", false, "Produce monochrome output")
	return cmd
}

// copyOutput copies a container's log or attach stream into w: raw under a
// TTY, demultiplexed otherwise.
func copyOutput(ctx context.Context, api *client.Client, id string, r io.Reader, w *lineWriter) error {
	defer w.flush()
	insp, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err == nil && insp.Container.Config != nil && insp.Container.Config.Tty {
		_, err = io.Copy(w, r)
		return err
	}
	_, err = stdcopy.StdCopy(w, w, r)
	return err
}

// shortName is the container name without the project: web-1 (compose's
// getContainerNameWithoutProject).
func shortName(ctr container.Summary) string {
	n := canonicalName(ctr)
	p := ctr.Labels[labelProject]
	if strings.HasPrefix(n, p+"-") {
		return n[len(p)+1:]
	}
	return n
}
