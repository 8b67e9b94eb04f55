package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"
)

type createOptions struct {
	name, driver, scope, configFrom string
	driverOpts                      *opts.MapOpts
	labels                          []string
	internal, attachable, ingress   bool
	configOnly                      bool
	ipv4, ipv6                      bool
	ipv4Set, ipv6Set                bool
	ipam                            ipamOptions
}

type ipamOptions struct {
	driver                      string
	subnets, ipRanges, gateways []string
	auxAddresses, driverOpts    *opts.MapOpts
}

func newCreateCommand(cli *command.Cli) *cobra.Command {
	o := createOptions{driverOpts: opts.NewMapOpts(), ipam: ipamOptions{auxAddresses: opts.NewMapOpts(), driverOpts: opts.NewMapOpts()}}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			// Only flags given on the command line are sent, so the
			// daemon's defaults apply otherwise (as docker does).
			o.ipv4Set = cmd.Flags().Changed("ipv4")
			o.ipv6Set = cmd.Flags().Changed("ipv6")
			return runCreate(cmd.Context(), cli, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.attachable, "attachable", false, "Enable manual container attachment")
	f.Var(o.ipam.auxAddresses, "aux-address", "Auxiliary IPv4 or IPv6 addresses used by Network driver")
	f.StringVar(&o.configFrom, "config-from", "", "The network from which to copy the configuration")
	f.BoolVar(&o.configOnly, "config-only", false, "Create a configuration only network")
	f.StringVarP(&o.driver, "driver", "d", "bridge", "Driver to manage the Network")
	f.StringSliceVar(&o.ipam.gateways, "gateway", []string{}, "IPv4 or IPv6 Gateway for the master subnet")
	f.BoolVar(&o.ingress, "ingress", false, "Create swarm routing-mesh network")
	f.BoolVar(&o.internal, "internal", false, "Restrict external access to the network")
	f.StringSliceVar(&o.ipam.ipRanges, "ip-range", []string{}, "Allocate container ip from a sub-range")
	f.StringVar(&o.ipam.driver, "ipam-driver", "default", "IP Address Management Driver")
	f.Var(o.ipam.driverOpts, "ipam-opt", "Set IPAM driver specific options")
	f.BoolVar(&o.ipv4, "ipv4", true, "Enable or disable IPv4 address assignment")
	f.BoolVar(&o.ipv6, "ipv6", false, "Enable or disable IPv6 address assignment")
	f.Var(opts.NewListOpts(&o.labels, "list"), "label", "Set metadata on a network")
	f.VarP(o.driverOpts, "opt", "o", "Set driver specific options")
	f.StringVar(&o.scope, "scope", "", "Control the network's scope")
	f.StringSliceVar(&o.ipam.subnets, "subnet", []string{}, "Subnet in CIDR format that represents a network segment")
	return cmd
}

// runCreate prints the new network's ID, as docker does.
func runCreate(ctx context.Context, cli *command.Cli, o createOptions) error {
	ipam, err := createIPAMConfig(o.ipam)
	if err != nil {
		return err
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	co := client.NetworkCreateOptions{
		Driver:     o.driver,
		Scope:      o.scope,
		IPAM:       ipam,
		Internal:   o.internal,
		Attachable: o.attachable,
		Ingress:    o.ingress,
		ConfigOnly: o.configOnly,
		ConfigFrom: o.configFrom,
		Options:    o.driverOpts.All(),
		Labels:     opts.ConvertKVStringsToMap(o.labels),
	}
	if o.ipv4Set {
		co.EnableIPv4 = &o.ipv4
	}
	if o.ipv6Set {
		co.EnableIPv6 = &o.ipv6
	}
	res, err := api.NetworkCreate(ctx, o.name, co)
	if err != nil {
		return err
	}
	fmt.Fprintln(cli.Out(), res.ID)
	return nil
}

// createIPAMConfig follows docker's rules and messages: every --ip-range,
// --gateway and --aux-address must fall inside exactly one --subnet, subnets
// may not overlap, and each subnet takes at most one range and gateway.
func createIPAMConfig(o ipamOptions) (*network.IPAM, error) {
	if len(o.subnets) < len(o.ipRanges) || len(o.subnets) < len(o.gateways) {
		return nil, errors.New("every ip-range or gateway must have a corresponding subnet")
	}
	data, err := ipamSubnets(o)
	if err != nil {
		return nil, err
	}
	configs := make([]network.IPAMConfig, 0, len(data))
	for _, s := range o.subnets {
		c, err := data[s].ipamConfig(s)
		if err != nil {
			return nil, err
		}
		configs = append(configs, c)
	}
	return &network.IPAM{Driver: o.driver, Config: configs, Options: o.driverOpts.All()}, nil
}

// subnetSettings are the flags given for one --subnet.
type subnetSettings struct {
	ipRange, gateway string
	aux              map[string]string
}

// ipamSubnets puts each --ip-range, --gateway and --aux-address with the
// --subnet that holds it (at most one range and gateway each), as docker
// does; subnets must not overlap.
func ipamSubnets(o ipamOptions) (map[string]*subnetSettings, error) {
	data := map[string]*subnetSettings{}
	for _, s := range o.subnets {
		for k := range data {
			ok1, err := subnetMatches(s, k)
			if err != nil {
				return nil, err
			}
			ok2, err := subnetMatches(k, s)
			if err != nil {
				return nil, err
			}
			if ok1 || ok2 {
				return nil, errors.New("multiple overlapping subnet configuration is not supported")
			}
		}
		data[s] = &subnetSettings{aux: map[string]string{}}
	}
	for _, r := range o.ipRanges {
		if _, _, err := net.ParseCIDR(r); err != nil {
			return nil, err
		}
		err := forMatchingSubnets(o.subnets, r, "range", func(s string) error {
			if data[s].ipRange != "" {
				return fmt.Errorf("cannot configure multiple ranges (%s, %s) on the same subnet (%s)", r, data[s].ipRange, s)
			}
			data[s].ipRange = r
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, g := range o.gateways {
		err := forMatchingSubnets(o.subnets, g, "gateway", func(s string) error {
			if data[s].gateway != "" {
				return fmt.Errorf("cannot configure multiple gateways (%s, %s) for the same subnet (%s)", g, data[s].gateway, s)
			}
			data[s].gateway = g
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for key, aa := range o.auxAddresses.All() {
		err := forMatchingSubnets(o.subnets, aa, "aux-address", func(s string) error {
			data[s].aux[key] = aa
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

// forMatchingSubnets calls set for each subnet that holds v (an address or
// CIDR); none holding it is an error naming what v is.
func forMatchingSubnets(subnets []string, v, what string, set func(subnet string) error) error {
	match := false
	for _, s := range subnets {
		ok, err := subnetMatches(s, v)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := set(s); err != nil {
			return err
		}
		match = true
	}
	if !match {
		return fmt.Errorf("no matching subnet for %s %s", what, v)
	}
	return nil
}

// ipamConfig converts one subnet's flags to the API's netip values.
func (d *subnetSettings) ipamConfig(subnet string) (network.IPAMConfig, error) {
	var c network.IPAMConfig
	var err error
	if c.Subnet, err = netip.ParsePrefix(subnet); err != nil {
		return c, err
	}
	if d.ipRange != "" {
		if c.IPRange, err = netip.ParsePrefix(d.ipRange); err != nil {
			return c, err
		}
	}
	if d.gateway != "" {
		if c.Gateway, err = netip.ParseAddr(d.gateway); err != nil {
			return c, err
		}
	}
	for k, v := range d.aux {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return c, err
		}
		if c.AuxAddress == nil {
			c.AuxAddress = map[string]netip.Addr{}
		}
		c.AuxAddress[k] = a
	}
	return c, nil
}

// subnetMatches reports whether data (an address or CIDR) lies in subnet.
func subnetMatches(subnet, data string) (bool, error) {
	_, s, err := net.ParseCIDR(subnet)
	if err != nil {
		return false, fmt.Errorf("invalid subnet: %w", err)
	}
	var ip net.IP
	if strings.Contains(data, "/") {
		if ip, _, err = net.ParseCIDR(data); err != nil {
			return false, err
		}
	} else {
		ip = net.ParseIP(data)
	}
	return s.Contains(ip), nil
}
