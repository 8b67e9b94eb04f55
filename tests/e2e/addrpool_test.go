package e2e

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// TestAddressPoolTwoDaemonsAtOnce: two berthd started at the same time,
// sharing one default address pool (a free /24 cut into /28s), create
// networks without --subnet at the same time; every network gets a subnet
// of its own (the daemons take a host-wide lock while they pick a subnet
// and bring up its bridge).
func TestAddressPoolTwoDaemonsAtOnce(t *testing.T) {
	pool, _, err := daemontest.FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	const perDaemon = 6 // 12 of the pool's 16 /28s
	ds := []*Daemon{newStoppedDaemon(t), newStoppedDaemon(t)}
	for _, d := range ds {
		d.addConfig(t, map[string]any{"default-address-pools": []map[string]any{{"base": pool.String(), "size": 28}}})
	}
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = d.Start() }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("daemon %d: %v", i, err)
		}
	}
	// Every create goes at once (a goroutine each, through the API), so the
	// two daemons' choices overlap in time.
	type made struct {
		daemon int
		name   string
		err    error
	}
	results := make(chan made, len(ds)*perDaemon)
	gate := make(chan struct{})
	for i, d := range ds {
		for j := 0; j < perDaemon; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := uniq("pool")
				<-gate
				code, _, body := d.API(t, "POST", "/networks/create", "application/json", `{"Name":"`+name+`"}`)
				if code != 201 {
					results <- made{i, name, fmt.Errorf("daemon %d: network create: %d %s", i, code, body)}
					return
				}
				results <- made{daemon: i, name: name}
			}()
		}
	}
	close(gate)
	wg.Wait()
	close(results)
	subnets := make([][]string, len(ds))
	for m := range results {
		if m.err != nil {
			t.Error(m.err)
			continue
		}
		c := ds[m.daemon].Docker(t)
		t.Cleanup(func() { c.Run(t, "network", "rm", m.name) })
		subnets[m.daemon] = append(subnets[m.daemon], c.Must(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", m.name))
	}
	owner := map[string]int{}
	for i, list := range subnets {
		for _, s := range list {
			p, err := netip.ParsePrefix(s)
			if err != nil || !pool.Contains(p.Addr()) || p.Bits() != 28 {
				t.Errorf("daemon %d: subnet %q is not a /28 of the pool %s", i, s, pool)
			}
			if j, dup := owner[s]; dup {
				t.Errorf("subnet %s was given twice (daemons %d and %d)", s, j, i)
			}
			owner[s] = i
		}
	}
}
