package containers

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestRefuseUnappliedUpdate(t *testing.T) {
	ok := []container.Resources{
		{},
		{Memory: 64 << 20, MemorySwap: -1, MemoryReservation: 32 << 20, NanoCPUs: 5e8, CPUShares: 512,
			CPUQuota: 50000, CPUPeriod: 100000, CpusetCpus: "0", CpusetMems: "0"},
	}
	for _, r := range ok {
		if err := refuseUnappliedUpdate(r); err != nil {
			t.Errorf("%+v: %v; want it applied", r, err)
		}
	}
	swap := int64(10)
	refused := map[string]container.Resources{
		"BlkioWeight":       {BlkioWeight: 300},
		"Ulimits":           {Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 1, Hard: 1}}},
		"MemorySwappiness":  {MemorySwappiness: &swap},
		"CgroupParent":      {CgroupParent: "x"},
		"CpuRealtimePeriod": {CPURealtimePeriod: 1000},
	}
	for field, r := range refused {
		err := refuseUnappliedUpdate(r)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v; want a refusal naming it", field, err)
		}
	}
}
