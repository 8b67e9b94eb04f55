package e2e

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/berth-dev/berth/tests/internal/daemontest"
)

// netSubnets are the subnets handed to the daemons' user networks, by
// daemon and index (daemontest.FreeSubnet picks them).
var (
	subnetMu   sync.Mutex
	netSubnets = map[string]netip.Prefix{}
)

// netSubnet is the subnet for user network i of d (the same one each
// time it is asked), and its gateway.
func netSubnet(d *Daemon, i int) (subnet, gateway string) {
	key := fmt.Sprintf("%d/%d", d.Seq, i)
	subnetMu.Lock()
	p, ok := netSubnets[key]
	subnetMu.Unlock()
	if !ok {
		var err error
		if p, _, err = daemontest.FreeSubnet(); err != nil {
			panic(err)
		}
		subnetMu.Lock()
		netSubnets[key] = p
		subnetMu.Unlock()
	}
	return p.String(), p.Addr().Next().String()
}
