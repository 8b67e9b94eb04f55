package container

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// forEach runs fn for the containers concurrently (at most 50 at once, as
// docker's parallel operations do), then prints the name of each success in
// argument order and returns all failures joined (printed one per line,
// exit 1), which is how docker's stop/kill/rm/pause/... report.
func forEach(ctx context.Context, cli *command.Cli, names []string, fn func(context.Context, client.APIClient, string) error) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	results := make([]error, len(names))
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = fn(ctx, api, n)
		}()
	}
	wg.Wait()
	var errs []error
	for i, n := range names {
		if results[i] != nil {
			if results[i] != errSkip {
				errs = append(errs, results[i])
			}
			continue
		}
		fmt.Fprintln(cli.Out(), n)
	}
	return errors.Join(errs...)
}

// errSkip marks a container that needs neither output nor an error.
var errSkip = errors.New("skip")

// newForEachCommand is a verb over one or more containers that applies fn
// to each through forEach; use, short and aliases are its help texts. The
// caller may add flags that fn reads: they are parsed before fn runs.
func newForEachCommand(cli *command.Cli, use, short, aliases string, fn func(context.Context, client.APIClient, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEach(cmd.Context(), cli, args, fn)
		},
		Annotations: map[string]string{"aliases": aliases},
	}
}
