package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/tlsgen"
	"github.com/spf13/cobra"
)

// certsCommand makes the CA, server and client certificates for remote
// access with --tlsverify.
func certsCommand() *cobra.Command {
	var o tlsgen.Options
	home, _ := os.UserHomeDir()
	cmd := &cobra.Command{
		Use:   "certs [OPTIONS]",
		Short: "Create a CA, a server certificate for this host and a client certificate for --tlsverify",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tlsgen.Generate(o); err != nil {
				return err
			}
			fmt.Printf("Server files in %s (ca.pem, server-cert.pem, server-key.pem)\n", o.Dir)
			if o.ClientDir != "" {
				fmt.Printf("Client files in %s (ca.pem, cert.pem, key.pem): use DOCKER_CERT_PATH=%s DOCKER_TLS_VERIFY=1\n", o.ClientDir, o.ClientDir)
			}
			fmt.Println("Start berthd with: berthd --tlsverify -H tcp://0.0.0.0:2376")
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", daemon.TLSDir, "Directory for the CA and server files")
	cmd.Flags().StringVar(&o.ClientDir, "client-dir", filepath.Join(home, ".berth"), "Directory for the client files (\"\" to skip)")
	cmd.Flags().StringSliceVar(&o.Hosts, "host", nil, "Extra DNS names or IP addresses for the server certificate")
	cmd.Flags().StringVar(&o.ClientName, "client-name", "client", "Common name of the client certificate")
	return cmd
}
