package container

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"
)

func newPortCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPort(cmd.Context(), cli, args)
		},
		Annotations: map[string]string{"aliases": "docker container port, docker port"},
	}
}

// runPort prints NetworkSettings.Ports as "80/tcp -> 0.0.0.0:8080", or the
// host addresses of one port.
func runPort(ctx context.Context, cli *command.Cli, args []string) error {
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, err := api.ContainerInspect(ctx, args[0], client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	var ports network.PortMap
	if res.Container.NetworkSettings != nil {
		ports = res.Container.NetworkSettings.Ports
	}
	hostAddr := func(b network.PortBinding) string {
		ip := "0.0.0.0"
		if b.HostIP.IsValid() {
			ip = b.HostIP.String()
		}
		if strings.Contains(ip, ":") {
			return "[" + ip + "]:" + b.HostPort
		}
		return ip + ":" + b.HostPort
	}
	if len(args) == 2 {
		spec := args[1]
		if !strings.Contains(spec, "/") {
			spec += "/tcp"
		}
		p, err := network.ParsePort(spec)
		if err != nil {
			return err
		}
		bs, ok := ports[p]
		if !ok || len(bs) == 0 {
			return fmt.Errorf("Error: No public port '%s' published for %s", spec, args[0])
		}
		for _, b := range bs {
			fmt.Fprintln(cli.Out(), hostAddr(b))
		}
		return nil
	}
	var lines []string
	for p, bs := range ports {
		for _, b := range bs {
			lines = append(lines, fmt.Sprintf("%s -> %s", p.String(), hostAddr(b)))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(cli.Out(), l)
	}
	return nil
}
