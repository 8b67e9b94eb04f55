package daemon

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/network"
	nettypes "github.com/moby/moby/api/types/network"
)

// netBackend serves the network routes: network CRUD from the network
// service, connect/disconnect through the container service (which
// resolves containers and remembers the networks of stopped ones).
type netBackend struct {
	*network.Service
	ctrs *containers.Service
}

func (b netBackend) NetworkConnect(ctx context.Context, netRef, ref string, ep *nettypes.EndpointSettings) error {
	return b.ctrs.NetworkConnect(ctx, netRef, ref, ep)
}

func (b netBackend) NetworkDisconnect(ctx context.Context, netRef, ref string, force bool) error {
	return b.ctrs.NetworkDisconnect(ctx, netRef, ref, force)
}

// networkConfig turns daemon.json's network keys into the network
// service's configuration (Docker's defaults: iptables and ip-forward on).
func networkConfig(cfg *Config) (network.Config, error) {
	nc := network.Config{
		DataRoot: cfg.DataRoot, ExecRoot: cfg.ExecRoot,
		Bip: cfg.Bip, FixedCIDR: cfg.FixedCIDR, MTU: cfg.MTU,
		Iptables: cfg.Iptables == nil || *cfg.Iptables, IPForward: cfg.IPForward == nil || *cfg.IPForward,
		BridgeName: cfg.Bridge, ChainPrefix: cfg.IptablesChainPrefix,
		IPv6: cfg.IPv6, FixedCIDRv6: cfg.FixedCIDRv6, Ip6tables: cfg.Ip6tables == nil || *cfg.Ip6tables,
		// Two namespaces ready for bridge endpoints take the kernel's
		// namespace and veth creation off a start's path.
		NetnsPool: 2,
	}
	for i, raw := range cfg.DefaultAddressPools {
		var p struct {
			Base string `json:"base"`
			Size int    `json:"size"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nc, fmt.Errorf("default-address-pools[%d]: %v", i, err)
		}
		if p.Base == "" || p.Size == 0 {
			return nc, fmt.Errorf("default-address-pools[%d]: base and size are required", i)
		}
		nc.DefaultAddressPools = append(nc.DefaultAddressPools, network.Pool{Base: p.Base, Size: p.Size})
	}
	return nc, nil
}
