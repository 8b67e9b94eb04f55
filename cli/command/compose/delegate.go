package compose

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	ctrcmd "github.com/berth-dev/berth/cli/command/container"
	"github.com/moby/moby/api/types/container"
)

// delegate runs one of berth's own container commands (exec, cp, start -a)
// on a container compose resolved, so that streams, TTY, signal proxying
// and exit codes behave exactly as in `berth exec` / `berth cp`.
func delegate(ctx context.Context, c *command.Cli, verb string, args []string) error {
	cmd := ctrcmd.TopLevel().One(c, verb)
	if cmd == nil {
		return fmt.Errorf("internal error: no %q command", verb)
	}
	if err := cmd.ParseFlags(args); err != nil {
		return err
	}
	cmd.SetContext(ctx)
	return cmd.RunE(cmd, cmd.Flags().Args())
}

// serviceContainer picks the container of service that exec, port and cp
// act on, as docker compose does: number index when given, else the
// lowest-numbered one, one-off containers last.
func serviceContainer(ctx context.Context, api *client.Client, project, service string, index int, all bool) (container.Summary, error) {
	f := projectFilter(project).Add("label", labelService+"="+service)
	if index > 0 {
		f.Add("label", labelNumber+"="+strconv.Itoa(index))
	}
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: all, Filters: f})
	if err != nil {
		return container.Summary{}, err
	}
	ctrs := res.Items
	if len(ctrs) == 0 {
		if index > 0 {
			return container.Summary{}, fmt.Errorf("service %q is not running container #%d", service, index)
		}
		return container.Summary{}, fmt.Errorf("service %q is not running", service)
	}
	sort.Slice(ctrs, func(i, j int) bool {
		oi, oj := ctrs[i].Labels[labelOneoff] == "True", ctrs[j].Labels[labelOneoff] == "True"
		if oi || oj {
			return !oi && oj
		}
		ni, _ := strconv.Atoi(ctrs[i].Labels[labelNumber])
		nj, _ := strconv.Atoi(ctrs[j].Labels[labelNumber])
		return ni < nj
	})
	return ctrs[0], nil
}
