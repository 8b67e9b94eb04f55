package compose

import (
	"context"
	"fmt"
	"sync"

	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
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
