package compose

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

// serviceContainers resolves the target containers of start/stop/rm/logs.
func serviceContainers(ctx context.Context, c *command.Cli, po *projectOptions, services []string, all bool) ([]container.Summary, error) {
	name, p, err := po.projectName(ctx)
	if err != nil {
		return nil, err
	}
	api, err := c.Client()
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		if p != nil {
			if _, err := p.GetService(s); err != nil {
				return nil, fmt.Errorf("no such service: %s", s)
			}
		}
	}
	ctrs, err := projectContainers(ctx, api, name, all)
	if err != nil {
		return nil, err
	}
	if len(services) == 0 {
		return ctrs, nil
	}
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	var out []container.Summary
	for _, ctr := range ctrs {
		if want[ctr.Labels[labelService]] {
			out = append(out, ctr)
		}
	}
	return out, nil
}

func parallel(ctrs []container.Summary, fn func(container.Summary) error) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(ctrs))
	for _, ctr := range ctrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- fn(ctr)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

// simpleCommand is a compose subcommand applying one API call to the
// selected services' containers in parallel.
func simpleCommand(c *command.Cli, po *projectOptions, use, short string, all bool, skip func(container.Summary) bool,
	op func(ctx context.Context, api *client.Client, id string) error, verb string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " [SERVICE...]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, all)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			return parallel(ctrs, func(ctr container.Summary) error {
				if skip != nil && skip(ctr) {
					return nil
				}
				fmt.Fprintf(c.Err(), " Container %s %s\n", canonicalName(ctr), verb)
				return op(cmd.Context(), api, ctr.ID)
			})
		},
	}
}

func projectFilter(project string) client.Filters {
	return make(client.Filters).Add("label", labelProject+"="+project)
}

// projectContainers lists the project's service containers (one-off run
// containers excluded), sorted by service and number.
func projectContainers(ctx context.Context, api *client.Client, project string, all bool) ([]container.Summary, error) {
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: all, Filters: projectFilter(project).Add("label", labelOneoff+"=False")})
	if err != nil {
		return nil, err
	}
	items := res.Items
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].Labels, items[j].Labels
		if a[labelService] != b[labelService] {
			return a[labelService] < b[labelService]
		}
		na, _ := strconv.Atoi(a[labelNumber])
		nb, _ := strconv.Atoi(b[labelNumber])
		return na < nb
	})
	return items, nil
}

func canonicalName(ctr container.Summary) string {
	if len(ctr.Names) == 0 {
		return ctr.ID[:12]
	}
	n := ctr.Names[0]
	for _, x := range ctr.Names {
		if len(x) < len(n) {
			n = x
		}
	}
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	return n
}

func names(cs []container.Summary) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		s += canonicalName(c)
	}
	return s
}

func removeContainer(ctx context.Context, c *command.Cli, ctr container.Summary, timeout *int) error {
	api, _ := c.Client()
	name := canonicalName(ctr)
	fmt.Fprintf(c.Err(), " Container %s Stopping\n", name)
	if _, err := api.ContainerStop(ctx, ctr.ID, client.ContainerStopOptions{Timeout: timeout}); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	fmt.Fprintf(c.Err(), " Container %s Removing\n", name)
	if _, err := api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	fmt.Fprintf(c.Err(), " Container %s Removed\n", name)
	return nil
}
