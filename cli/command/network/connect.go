package network

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"
)

type connectOptions struct {
	network, container string
	ip, ip6            string
	links              []string
	aliases            []string
	linkLocalIPs       []string
	driverOpts         []string
	gwPriority         int
}

func newConnectCommand(cli *command.Cli) *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.network, o.container = args[0], args[1]
			return runConnect(cmd.Context(), cli, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.aliases, "alias", []string{}, "Add network-scoped alias for the container")
	f.StringSliceVar(&o.driverOpts, "driver-opt", []string{}, "driver options for the network")
	f.IntVar(&o.gwPriority, "gw-priority", 0, "Highest gw-priority provides the default gateway. Accepts positive and negative values.")
	f.StringVar(&o.ip, "ip", "", `IPv4 address (e.g., "172.30.100.104")`)
	f.StringVar(&o.ip6, "ip6", "", `IPv6 address (e.g., "2001:db8::33")`)
	f.Var(opts.NewListOpts(&o.links, "list"), "link", "Add link to another container")
	f.StringSliceVar(&o.linkLocalIPs, "link-local-ip", []string{}, "Add a link-local address for the container")
	return cmd
}

func runConnect(ctx context.Context, cli *command.Cli, o connectOptions) error {
	driverOpts, err := convertDriverOpt(o.driverOpts)
	if err != nil {
		return err
	}
	ipam := &network.EndpointIPAMConfig{}
	if ipam.IPv4Address, err = parseAddr(o.ip); err != nil {
		return err
	}
	if ipam.IPv6Address, err = parseAddr(o.ip6); err != nil {
		return err
	}
	for _, s := range o.linkLocalIPs {
		a, err := parseAddr(s)
		if err != nil {
			return err
		}
		ipam.LinkLocalIPs = append(ipam.LinkLocalIPs, a)
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	_, err = api.NetworkConnect(ctx, o.network, client.NetworkConnectOptions{
		Container: o.container,
		EndpointConfig: &network.EndpointSettings{
			IPAMConfig: ipam,
			Links:      o.links,
			Aliases:    o.aliases,
			DriverOpts: driverOpts,
			GwPriority: o.gwPriority,
		},
	})
	return err
}

// parseAddr accepts "" as "no address" (the zero Addr is omitted from the
// request).
func parseAddr(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err
}

// convertDriverOpt parses --driver-opt KEY=VALUE values with docker's error.
func convertDriverOpt(values []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New("invalid key/value pair format in driver options")
		}
		m[k] = strings.TrimSpace(val)
	}
	return m, nil
}
