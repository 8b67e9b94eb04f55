package compose

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// newPortCommand is `compose port SERVICE [PRIVATE_PORT]`: the host
// address a container port is published on.
func newPortCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var protocol string
	var index int
	cmd := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE [PRIVATE_PORT]",
		Short: "List port mappings or print the public port for a specific mapping for the service",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			protocol = strings.ToLower(protocol)
			var port uint64
			if len(args) > 1 {
				var err error
				if port, err = strconv.ParseUint(args[1], 10, 16); err != nil {
					return err
				}
			} else if !cmd.Flags().Changed("protocol") {
				protocol = ""
			}
			name, _, err := po.projectName(cmd.Context())
			if err != nil {
				return err
			}
			api, err := c.Client()
			if err != nil {
				return err
			}
			ctr, err := serviceContainer(cmd.Context(), api, name, args[0], index, false)
			if err != nil {
				return err
			}
			var found []string
			var have []string
			for _, p := range ctr.Ports {
				have = append(have, fmt.Sprintf("%d/%s", p.PrivatePort, p.Type))
				if p.PublicPort == 0 || (protocol != "" && p.Type != protocol) || (port != 0 && uint64(p.PrivatePort) != port) {
					continue
				}
				ip := "0.0.0.0"
				if p.IP.IsValid() {
					ip = p.IP.String()
				}
				host := net.JoinHostPort(ip, strconv.Itoa(int(p.PublicPort)))
				if port != 0 {
					found = append(found, host)
				} else {
					found = append(found, fmt.Sprintf("%d/%s -> %s", p.PrivatePort, p.Type, host))
				}
			}
			if port != 0 && len(found) == 0 {
				return fmt.Errorf("no port %d/%s for container %s: %s", port, protocol, canonicalName(ctr), strings.Join(have, ", "))
			}
			if port != 0 {
				found = found[:1]
			}
			for _, f := range found {
				fmt.Fprintln(c.Out(), f)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&protocol, "protocol", "tcp", "tcp or udp")
	cmd.Flags().IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	return cmd
}
