package network

import (
	"fmt"
	"net/netip"
	"regexp"

	"github.com/berth-dev/berth/engine/network/ipam"
)

var (
	validBridgeName  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$`)
	validChainPrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,15}$`)
)

// ValidateConfig checks the daemon's network settings without touching
// the host, so berthd can refuse a bad configuration before it creates a
// bridge or a chain. New calls it too.
func ValidateConfig(cfg Config) error {
	var bip netip.Prefix
	if cfg.Bip != "" {
		p, err := netip.ParsePrefix(cfg.Bip)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("invalid bip %q: want an IPv4 address with prefix length, e.g. 172.17.0.1/16", cfg.Bip)
		}
		if err := ipam.CheckReserved("bip", p); err != nil {
			return err
		}
		pool, err := ipam.NewPool(p.Masked(), netip.Prefix{}, p.Addr())
		if err != nil {
			return fmt.Errorf("invalid bip %q: %w", cfg.Bip, err)
		}
		if p.Addr() == p.Masked().Addr() || p.Addr() == pool.Broadcast() {
			return fmt.Errorf("invalid bip %q: the bridge's address must not be the network or broadcast address of %s", cfg.Bip, p.Masked())
		}
		bip = p.Masked()
	}
	if cfg.FixedCIDR != "" {
		p, err := netip.ParsePrefix(cfg.FixedCIDR)
		if err != nil || !p.Addr().Is4() {
			return fmt.Errorf("invalid fixed-cidr %q: want an IPv4 subnet, e.g. 172.17.1.0/24", cfg.FixedCIDR)
		}
		if err := ipam.CheckReserved("fixed-cidr", p); err != nil {
			return err
		}
		if bip.IsValid() && (p.Bits() < bip.Bits() || !bip.Contains(p.Addr())) {
			return fmt.Errorf("invalid fixed-cidr %q: it is not inside bip's subnet %s", cfg.FixedCIDR, bip)
		}
	}
	for i, pool := range cfg.DefaultAddressPools {
		base, err := netip.ParsePrefix(pool.Base)
		if err != nil || !base.Addr().Is4() {
			return fmt.Errorf("invalid default-address-pools[%d] base %q: want an IPv4 subnet, e.g. 172.17.0.0/16", i, pool.Base)
		}
		if err := ipam.CheckReserved(fmt.Sprintf("default-address-pools[%d] base", i), base); err != nil {
			return err
		}
		if pool.Size < base.Bits() || pool.Size > 30 {
			return fmt.Errorf("invalid default-address-pools[%d] size %d: want a prefix length from %d (the base's) to 30", i, pool.Size, base.Bits())
		}
	}
	if cfg.MTU != 0 && (cfg.MTU < 68 || cfg.MTU > 65535) {
		return fmt.Errorf("invalid mtu %d: want 68 to 65535", cfg.MTU)
	}
	if cfg.BridgeName != "" && !validBridgeName.MatchString(cfg.BridgeName) {
		return fmt.Errorf("invalid bridge name %q: want at most 15 characters of [a-zA-Z0-9_.-]", cfg.BridgeName)
	}
	if cfg.ChainPrefix != "" && !validChainPrefix.MatchString(cfg.ChainPrefix) {
		return fmt.Errorf("invalid iptables-chain-prefix %q: want a letter then at most 15 of [A-Za-z0-9_-] (chain names are limited to 28 characters)", cfg.ChainPrefix)
	}
	return nil
}
