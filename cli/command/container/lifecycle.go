package container

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/berth-dev/berth/cli/command"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
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

type stopOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
}

func newStopCommand(cli *command.Cli) *cobra.Command {
	var o stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.timeoutSet = cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time")
			return runStop(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container stop, docker stop"},
	}
	f := cmd.Flags()
	f.StringVarP(&o.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&o.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&o.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = f.MarkHidden("time")
	return cmd
}

func runStop(ctx context.Context, cli *command.Cli, o stopOptions, names []string) error {
	so := client.ContainerStopOptions{Signal: o.signal}
	if o.timeoutSet {
		t := o.timeout
		so.Timeout = &t
	}
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		_, err := api.ContainerStop(ctx, n, so)
		return err
	})
}

func newRestartCommand(cli *command.Cli) *cobra.Command {
	var o stopOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro := client.ContainerRestartOptions{Signal: o.signal}
			if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time") {
				t := o.timeout
				ro.Timeout = &t
			}
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api client.APIClient, n string) error {
				_, err := api.ContainerRestart(ctx, n, ro)
				return err
			})
		},
		Annotations: map[string]string{"aliases": "docker container restart, docker restart"},
	}
	f := cmd.Flags()
	f.StringVarP(&o.signal, "signal", "s", "", "Signal to send to the container")
	f.IntVarP(&o.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	f.IntVar(&o.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = f.MarkHidden("time")
	return cmd
}

func newKillCommand(cli *command.Cli) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api client.APIClient, n string) error {
				_, err := api.ContainerKill(ctx, n, client.ContainerKillOptions{Signal: signal})
				return err
			})
		},
		Annotations: map[string]string{"aliases": "docker container kill, docker kill"},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newPauseCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api client.APIClient, n string) error {
				_, err := api.ContainerPause(ctx, n, client.ContainerPauseOptions{})
				return err
			})
		},
		Annotations: map[string]string{"aliases": "docker container pause, docker pause"},
	}
}

func newUnpauseCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEach(cmd.Context(), cli, args, func(ctx context.Context, api client.APIClient, n string) error {
				_, err := api.ContainerUnpause(ctx, n, client.ContainerUnpauseOptions{})
				return err
			})
		},
		Annotations: map[string]string{"aliases": "docker container unpause, docker unpause"},
	}
}

type rmOptions struct{ force, volumes, links bool }

func newRmCommand(cli *command.Cli, use string) *cobra.Command {
	var o rmOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container rm, docker container remove, docker rm"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	f.BoolVarP(&o.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	f.BoolVarP(&o.links, "link", "l", false, "Remove the specified link")
	return cmd
}

// runRm removes containers; with -f a missing container is not an error,
// as in docker.
func runRm(ctx context.Context, cli *command.Cli, o rmOptions, names []string) error {
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		if n == "" {
			return errors.New("Container name cannot be empty")
		}
		_, err := api.ContainerRemove(ctx, n, client.ContainerRemoveOptions{Force: o.force, RemoveVolumes: o.volumes, RemoveLinks: o.links})
		if err != nil && o.force && cerrdefs.IsNotFound(err) {
			return errSkip
		}
		return err
	})
}

func newWaitCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd.Context(), cli, args)
		},
		Annotations: map[string]string{"aliases": "docker container wait, docker wait"},
	}
}

func runWait(ctx context.Context, cli *command.Cli, names []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		res := api.ContainerWait(ctx, n, client.ContainerWaitOptions{})
		select {
		case r := <-res.Result:
			fmt.Fprintf(cli.Out(), "%d\n", r.StatusCode)
		case err := <-res.Error:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func newRenameCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cli.Client()
			if err != nil {
				return err
			}
			if args[1] == "" {
				return errors.New("Error: Neither old nor new names may be empty")
			}
			if _, err := api.ContainerRename(cmd.Context(), args[0], client.ContainerRenameOptions{NewName: args[1]}); err != nil {
				return fmt.Errorf("Error: failed to rename container named %s: %w", args[0], err)
			}
			return nil
		},
		Annotations: map[string]string{"aliases": "docker container rename, docker rename"},
	}
}
