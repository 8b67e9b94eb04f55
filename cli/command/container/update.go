package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newUpdateCommand(cli *command.Cli) *cobra.Command {
	var o updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			o.restartSet, o.pidsLimitSet, o.cpuSharesSet = f.Changed("restart"), f.Changed("pids-limit"), f.Changed("cpu-shares")
			return runUpdate(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container update, docker update"},
	}
	f := cmd.Flags()
	f.StringVar(&o.restart, "restart", "", "Restart policy to apply when a container exits")
	f.VarP(opts.NewStringValue(&o.memory, "bytes"), "memory", "m", "Memory limit")
	f.Var(opts.NewStringValue(&o.cpus, "decimal"), "cpus", "Number of CPUs")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	return cmd
}

// updateOptions are update's flags; the ...Set fields say which of the
// flags without an "unset" value the user gave.
type updateOptions struct {
	restart, memory, cpus                  string
	pidsLimit, cpuShares                   int64
	restartSet, pidsLimitSet, cpuSharesSet bool
}

// runUpdate applies the changed settings to each container, printing the
// daemon's warnings.
func runUpdate(ctx context.Context, cli *command.Cli, o updateOptions, names []string) error {
	uo, err := o.updateOptions()
	if err != nil {
		return err
	}
	return forEach(ctx, cli, names, func(ctx context.Context, api client.APIClient, n string) error {
		r, err := api.ContainerUpdate(ctx, n, uo)
		for _, w := range r.Warnings {
			fmt.Fprintln(cli.Err(), w)
		}
		return err
	})
}

// updateOptions parses the flags into the API's request; no flag is an error.
func (o updateOptions) updateOptions() (client.ContainerUpdateOptions, error) {
	uo := client.ContainerUpdateOptions{}
	res := &container.Resources{}
	changed := false
	if o.restartSet {
		rp, err := opts.ParseRestartPolicy(o.restart)
		if err != nil {
			return uo, err
		}
		uo.RestartPolicy = &rp
	}
	if o.memory != "" {
		n, err := opts.ParseBytes(o.memory)
		if err != nil {
			return uo, err
		}
		res.Memory, changed = n, true
	}
	if o.cpus != "" {
		n, err := opts.ParseCPUs(o.cpus)
		if err != nil {
			return uo, err
		}
		res.NanoCPUs, changed = n, true
	}
	if o.pidsLimitSet {
		res.PidsLimit, changed = &o.pidsLimit, true
	}
	if o.cpuSharesSet {
		res.CPUShares, changed = o.cpuShares, true
	}
	if changed {
		uo.Resources = res
	}
	if uo.Resources == nil && uo.RestartPolicy == nil {
		return uo, errors.New("you must provide one or more flags when using this command")
	}
	return uo, nil
}
