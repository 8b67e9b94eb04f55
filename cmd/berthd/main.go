// Command berthd is the Berth container engine daemon. It serves the Docker
// Engine API and takes dockerd's flag names, so tools written for dockerd
// can start it.
package main

import (
	"fmt"
	"os"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/daemon"
	"github.com/spf13/cobra"
)

func main() {
	var (
		cfg        daemon.Config
		configFile string
		validate   bool
		version    bool
	)
	cmd := &cobra.Command{
		Use:           "berthd [OPTIONS]",
		Short:         "Berth container engine daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if version {
				fmt.Printf("Berth version %s (API %s)\n", api.Version, api.APIVersion)
				return nil
			}
			explicit := cmd.Flags().Changed("config-file")
			fileCfg, fileSet, err := daemon.LoadFile(configFile, explicit)
			if err != nil {
				return err
			}
			flagSet := map[string]bool{}
			cmd.Flags().Visit(func(f *pflagFlag) {
				if key, ok := flagKeys[f.Name]; ok {
					flagSet[key] = true
				}
			})
			if err := daemon.Conflicts(flagSet, fileSet); err != nil {
				return err
			}
			merged := merge(fileCfg, &cfg, flagSet)
			if validate {
				fmt.Println("configuration OK")
				return nil
			}
			return daemon.Run(merged)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&cfg.Hosts, "host", "H", nil, "Daemon socket(s) to connect to")
	f.StringVar(&cfg.DataRoot, "data-root", "", "Root directory of persistent Berth state (default /var/lib/berth)")
	f.StringVar(&cfg.ExecRoot, "exec-root", "", "Root directory for execution state files (default /run/berth)")
	f.StringVarP(&cfg.Pidfile, "pidfile", "p", "", "Path to use for daemon PID file (default <exec-root>/berthd.pid)")
	f.StringVar(&configFile, "config-file", "/etc/berth/daemon.json", "Daemon configuration file")
	f.BoolVarP(&cfg.Debug, "debug", "D", false, "Enable debug mode")
	f.StringVarP(&cfg.LogLevel, "log-level", "l", "", `Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")`)
	f.StringVar(&cfg.DefaultRuntime, "default-runtime", "", "Default OCI runtime for containers (crun or runc; default: the fastest that works here)")
	f.StringVarP(&cfg.Group, "group", "G", "", `Group for the unix socket (default "berth")`)
	f.StringVar(&cfg.CgroupParent, "cgroup-parent", "", "Parent cgroup for all containers")
	f.BoolVar(&validate, "validate", false, "Validate daemon configuration and exit")
	f.BoolVarP(&version, "version", "v", false, "Print version information and quit")
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "berthd:", err)
		os.Exit(1)
	}
}

// flagKeys maps flag names to the daemon.json keys they set.
var flagKeys = map[string]string{
	"host": "hosts", "data-root": "data-root", "exec-root": "exec-root", "pidfile": "pidfile",
	"debug": "debug", "log-level": "log-level", "default-runtime": "default-runtime", "group": "group",
	"cgroup-parent": "cgroup-parent",
}

// merge overlays the flags that were set on the file's configuration.
func merge(file, flags *daemon.Config, set map[string]bool) *daemon.Config {
	out := *file
	if set["hosts"] {
		out.Hosts = flags.Hosts
	}
	if set["data-root"] {
		out.DataRoot = flags.DataRoot
	}
	if set["exec-root"] {
		out.ExecRoot = flags.ExecRoot
	}
	if set["pidfile"] {
		out.Pidfile = flags.Pidfile
	}
	if set["debug"] {
		out.Debug = flags.Debug
	}
	if set["log-level"] {
		out.LogLevel = flags.LogLevel
	}
	if set["default-runtime"] {
		out.DefaultRuntime = flags.DefaultRuntime
	}
	if set["group"] {
		out.Group = flags.Group
	}
	if set["cgroup-parent"] {
		out.CgroupParent = flags.CgroupParent
	}
	return &out
}
