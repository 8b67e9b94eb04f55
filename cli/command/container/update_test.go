package container

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// updateRequestOf parses args as update's flags.
func updateRequestOf(t *testing.T, args ...string) updateOptions {
	t.Helper()
	var o updateOptions
	f := pflag.NewFlagSet("update", pflag.ContinueOnError)
	o.bind(f)
	if err := f.Parse(args); err != nil {
		t.Fatal(err)
	}
	o.noteChanged(f)
	return o
}

// Every update flag reaches the request: a flag parsed and then dropped
// would leave the user believing the limit is in force.
func TestUpdateFlagsReachTheRequest(t *testing.T) {
	o := updateRequestOf(t, "--memory", "64m", "--memory-reservation", "32m", "--memory-swap", "-1",
		"--cpu-period", "100000", "--cpu-quota", "50000", "--cpu-rt-period", "1000", "--cpu-rt-runtime", "500",
		"--cpuset-cpus", "0", "--cpuset-mems", "0", "--blkio-weight", "300", "--cpus", "0.5",
		"--cpu-shares", "512", "--pids-limit", "42")
	uo, err := o.updateOptions()
	if err != nil {
		t.Fatal(err)
	}
	r := uo.Resources
	if r == nil {
		t.Fatal("no resources in the request")
	}
	if r.Memory != 64<<20 || r.MemoryReservation != 32<<20 || r.MemorySwap != -1 ||
		r.CPUPeriod != 100000 || r.CPUQuota != 50000 || r.CPURealtimePeriod != 1000 || r.CPURealtimeRuntime != 500 ||
		r.CpusetCpus != "0" || r.CpusetMems != "0" || r.BlkioWeight != 300 || r.NanoCPUs != 5e8 ||
		r.CPUShares != 512 || r.PidsLimit == nil || *r.PidsLimit != 42 {
		t.Fatalf("request resources = %+v", r)
	}
}

func TestUpdateFlagsEachAloneCounts(t *testing.T) {
	for _, args := range [][]string{
		{"--memory-swap", "128m"}, {"--memory-reservation", "16m"}, {"--cpu-period", "50000"},
		{"--cpu-quota", "25000"}, {"--cpuset-cpus", "0"}, {"--cpuset-mems", "0"},
		{"--blkio-weight", "0"}, {"--cpu-rt-runtime", "100"}, {"--cpu-shares", "0"},
	} {
		o := updateRequestOf(t, args...)
		uo, err := o.updateOptions()
		if err != nil || uo.Resources == nil {
			t.Errorf("%v alone: %v, resources %v", args, err, uo.Resources)
		}
	}
	o := updateRequestOf(t)
	if _, err := o.updateOptions(); err == nil || !strings.Contains(err.Error(), "one or more flags") {
		t.Errorf("no flag: %v", err)
	}
	o = updateRequestOf(t, "--memory-swap", "lots")
	if _, err := o.updateOptions(); err == nil || !strings.Contains(err.Error(), "--memory-swap") {
		t.Errorf("bad --memory-swap: %v", err)
	}
}
