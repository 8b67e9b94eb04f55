package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/berth-dev/berth/engine/network"
)

// Subnets for the tests' bridges are picked the way the daemon's IPAM
// picks one for a new network: a /24 under 10.0.0.0/8 that overlaps no
// subnet the host routes (network.HostSubnets: Docker's bridges, another
// berthd's, another test run's), and none handed out earlier in this run.
// The search starts at an offset from the pid, so test binaries running
// side by side start far apart.
var (
	subnetMu   sync.Mutex
	subnetNext = (100 + os.Getpid()%150) << 8 // index of the /24 within 10/8
	handedOut  []netip.Prefix
	netSubnets = map[string]netip.Prefix{}
)

// freeSubnet returns a free /24 and its first host address (the gateway).
func freeSubnet() (netip.Prefix, netip.Addr, error) {
	subnetMu.Lock()
	defer subnetMu.Unlock()
	used := append(network.HostSubnets(), handedOut...)
	for i := 0; i < 1<<16; i++ {
		n := subnetNext
		subnetNext = (subnetNext + 1) % (1 << 16)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			handedOut = append(handedOut, p)
			return p, p.Addr().Next(), nil
		}
	}
	return netip.Prefix{}, netip.Addr{}, fmt.Errorf("no free /24 left in 10.0.0.0/8 on this host")
}

// netSubnet is the subnet for user network i of d (the same one each
// time it is asked), and its gateway.
func netSubnet(d *Daemon, i int) (subnet, gateway string) {
	key := fmt.Sprintf("%d/%d", d.Seq, i)
	subnetMu.Lock()
	p, ok := netSubnets[key]
	subnetMu.Unlock()
	if !ok {
		var err error
		if p, _, err = freeSubnet(); err != nil {
			panic(err)
		}
		subnetMu.Lock()
		netSubnets[key] = p
		subnetMu.Unlock()
	}
	return p.String(), p.Addr().Next().String()
}
