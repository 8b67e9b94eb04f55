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
	"github.com/spf13/pflag"
)

func newUpdateCommand(cli *command.Cli) *cobra.Command {
	var o updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.noteChanged(cmd.Flags())
			return runUpdate(cmd.Context(), cli, o, args)
		},
		Annotations: map[string]string{"aliases": "docker container update, docker update"},
	}
	o.bind(cmd.Flags())
	return cmd
}

// bind defines update's flags on f, into o.
func (o *updateOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&o.restart, "restart", "", "Restart policy to apply when a container exits")
	f.VarP(opts.NewStringValue(&o.memory, "bytes"), "memory", "m", "Memory limit")
	f.Var(opts.NewStringValue(&o.cpus, "decimal"), "cpus", "Number of CPUs")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.Var(opts.NewStringValue(&o.memoryReservation, "bytes"), "memory-reservation", "Memory soft limit")
	f.Var(opts.NewStringValue(&o.memorySwap, "bytes"), "memory-swap", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
	f.Int64Var(&o.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	f.Int64Var(&o.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	f.Int64Var(&o.cpuRtPeriod, "cpu-rt-period", 0, "Limit the CPU real-time period in microseconds")
	f.Int64Var(&o.cpuRtRuntime, "cpu-rt-runtime", 0, "Limit the CPU real-time runtime in microseconds")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	f.Uint16Var(&o.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable")
}

// noteChanged records which flags without an "unset" value were given.
func (o *updateOptions) noteChanged(f *pflag.FlagSet) {
	o.restartSet, o.pidsLimitSet, o.cpuSharesSet = f.Changed("restart"), f.Changed("pids-limit"), f.Changed("cpu-shares")
	o.blkioWeightSet = f.Changed("blkio-weight")
}

// updateOptions are update's flags; the ...Set fields say which of the
// flags without an "unset" value the user gave.
type updateOptions struct {
	restart, memory, cpus                  string
	memoryReservation, memorySwap          string
	cpusetCpus, cpusetMems                 string
	pidsLimit, cpuShares                   int64
	cpuPeriod, cpuQuota                    int64
	cpuRtPeriod, cpuRtRuntime              int64
	blkioWeight                            uint16
	restartSet, pidsLimitSet, cpuSharesSet bool
	blkioWeightSet                         bool
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
	if o.restartSet {
		rp, err := opts.ParseRestartPolicy(o.restart)
		if err != nil {
			return uo, err
		}
		uo.RestartPolicy = &rp
	}
	res, changed, err := o.resources()
	if err != nil {
		return uo, err
	}
	if changed {
		uo.Resources = res
	}
	if uo.Resources == nil && uo.RestartPolicy == nil {
		return uo, errors.New("you must provide one or more flags when using this command")
	}
	return uo, nil
}

// resources parses the resource flags; changed says whether any was given.
func (o updateOptions) resources() (*container.Resources, bool, error) {
	res := &container.Resources{}
	if err := parseMemoryFlags(res, o.memory, o.memoryReservation, o.memorySwap); err != nil {
		return nil, false, err
	}
	n, err := opts.ParseCPUs(o.cpus)
	if err != nil {
		return nil, false, err
	}
	res.NanoCPUs = n
	res.CPUPeriod, res.CPUQuota = o.cpuPeriod, o.cpuQuota
	res.CPURealtimePeriod, res.CPURealtimeRuntime = o.cpuRtPeriod, o.cpuRtRuntime
	res.CpusetCpus, res.CpusetMems = o.cpusetCpus, o.cpusetMems
	res.BlkioWeight = o.blkioWeight
	if o.pidsLimitSet {
		res.PidsLimit = &o.pidsLimit
	}
	if o.cpuSharesSet {
		res.CPUShares = o.cpuShares
	}
	changed := o.memory != "" || o.memoryReservation != "" || o.memorySwap != "" || o.cpus != "" ||
		o.cpuPeriod != 0 || o.cpuQuota != 0 || o.cpuRtPeriod != 0 || o.cpuRtRuntime != 0 ||
		o.cpusetCpus != "" || o.cpusetMems != "" || o.blkioWeightSet || o.pidsLimitSet || o.cpuSharesSet
	return res, changed, nil
}
