// Command berthd is the Berth container engine daemon. It serves the Docker
// Engine API and takes dockerd's flag names, so tools written for dockerd
// can start it.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/daemon"
	"github.com/berth-dev/berth/internal/sysmonslack"
	"github.com/berth-dev/berth/internal/version"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagOpts holds flag values before they are merged into the config.
type flagOpts struct {
	cfg                         daemon.Config
	tls, tlsVerify, liveRestore bool
	configFile                  string
	validate, version           bool
}

func main() {
	// First, while the runtime's own threads are the only ones: see the
	// package's comment for what this saves (and what 1 ms costs).
	if err := sysmonslack.Relax(time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "berthd: warning:", err)
	}
	var o flagOpts
	cmd := &cobra.Command{
		Use:           "berthd [OPTIONS]",
		Short:         "Berth container engine daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.version {
				fmt.Printf("Berth version %s, build %s (API %s)\n", version.Version, version.Commit(), api.APIVersion)
				return nil
			}
			cfg, err := loadConfig(cmd.Flags(), &o)
			if err != nil {
				return err
			}
			if o.validate {
				// loadConfig ran cfg.Validate: the checks a start makes
				// before it touches the host.
				fmt.Println("configuration OK")
				return nil
			}
			return daemon.Run(cfg, func() (*daemon.Config, error) { return loadConfig(cmd.Flags(), &o) })
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.cfg.Hosts, "host", "H", nil, "Daemon socket(s) to connect to")
	f.StringVar(&o.cfg.DataRoot, "data-root", "", "Root directory of persistent Berth state (default /var/lib/berth)")
	f.StringVar(&o.cfg.ExecRoot, "exec-root", "", "Root directory for execution state files (default /run/berth)")
	f.StringVarP(&o.cfg.Pidfile, "pidfile", "p", "", "Path to use for daemon PID file (default <exec-root>/berthd.pid)")
	f.StringVar(&o.configFile, "config-file", "/etc/berth/daemon.json", "Daemon configuration file")
	f.BoolVarP(&o.cfg.Debug, "debug", "D", false, "Enable debug mode")
	f.StringVarP(&o.cfg.LogLevel, "log-level", "l", "", `Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")`)
	f.StringVar(&o.cfg.DefaultRuntime, "default-runtime", "", "Default OCI runtime for containers (crun or runc; default: the fastest that works here)")
	f.StringVarP(&o.cfg.Group, "group", "G", "", `Group for the unix socket (default "berth")`)
	f.StringVar(&o.cfg.CgroupParent, "cgroup-parent", "", "Parent cgroup for all containers")
	f.BoolVar(&o.tls, "tls", false, "Use TLS; implied by --tlsverify")
	f.BoolVar(&o.tlsVerify, "tlsverify", false, "Use TLS and verify the remote")
	f.StringVar(&o.cfg.TLSCACert, "tlscacert", "", "Trust certs signed only by this CA (default "+daemon.TLSDir+"/ca.pem)")
	f.StringVar(&o.cfg.TLSCert, "tlscert", "", "Path to TLS certificate file (default "+daemon.TLSDir+"/server-cert.pem)")
	f.StringVar(&o.cfg.TLSKey, "tlskey", "", "Path to TLS key file (default "+daemon.TLSDir+"/server-key.pem)")
	f.BoolVar(&o.cfg.AllowPlainTCP, "allow-plain-tcp", false, "Serve plain TCP on non-loopback addresses (DANGEROUS: gives root to anyone who reaches it)")
	f.BoolVar(&o.liveRestore, "live-restore", true, "Keep containers running while the daemon is down")
	f.StringSliceVar(&o.cfg.InsecureRegistries, "insecure-registry", nil, "Enable insecure registry communication")
	f.StringSliceVar(&o.cfg.RegistryMirrors, "registry-mirror", nil, "Preferred registry mirror")
	f.StringVar(&o.cfg.HostGatewayIP, "host-gateway-ip", "", `IP address that the special "host-gateway" string in --add-host resolves to (default: the default bridge's gateway)`)
	f.StringVar(&o.cfg.UIAddr, "ui-addr", "", "Serve the web dashboard on this address (host:port; off when unset; TLS needed unless loopback)")
	f.BoolVar(&o.validate, "validate", false, "Validate daemon configuration and exit")
	f.BoolVarP(&o.version, "version", "v", false, "Print version information and quit")
	cmd.AddCommand(certsCommand())
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "berthd:", err)
		os.Exit(1)
	}
}

// flagKeys maps flag names to the daemon.json keys they set, and copies
// the flag's value into the configuration.
var flagKeys = map[string]struct {
	key   string
	apply func(dst *daemon.Config, o *flagOpts)
}{
	"host":              {"hosts", func(d *daemon.Config, o *flagOpts) { d.Hosts = o.cfg.Hosts }},
	"data-root":         {"data-root", func(d *daemon.Config, o *flagOpts) { d.DataRoot = o.cfg.DataRoot }},
	"exec-root":         {"exec-root", func(d *daemon.Config, o *flagOpts) { d.ExecRoot = o.cfg.ExecRoot }},
	"pidfile":           {"pidfile", func(d *daemon.Config, o *flagOpts) { d.Pidfile = o.cfg.Pidfile }},
	"debug":             {"debug", func(d *daemon.Config, o *flagOpts) { d.Debug = o.cfg.Debug }},
	"log-level":         {"log-level", func(d *daemon.Config, o *flagOpts) { d.LogLevel = o.cfg.LogLevel }},
	"default-runtime":   {"default-runtime", func(d *daemon.Config, o *flagOpts) { d.DefaultRuntime = o.cfg.DefaultRuntime }},
	"group":             {"group", func(d *daemon.Config, o *flagOpts) { d.Group = o.cfg.Group }},
	"cgroup-parent":     {"cgroup-parent", func(d *daemon.Config, o *flagOpts) { d.CgroupParent = o.cfg.CgroupParent }},
	"tls":               {"tls", func(d *daemon.Config, o *flagOpts) { d.TLS = &o.tls }},
	"tlsverify":         {"tlsverify", func(d *daemon.Config, o *flagOpts) { d.TLSVerify = &o.tlsVerify }},
	"tlscacert":         {"tlscacert", func(d *daemon.Config, o *flagOpts) { d.TLSCACert = o.cfg.TLSCACert }},
	"tlscert":           {"tlscert", func(d *daemon.Config, o *flagOpts) { d.TLSCert = o.cfg.TLSCert }},
	"tlskey":            {"tlskey", func(d *daemon.Config, o *flagOpts) { d.TLSKey = o.cfg.TLSKey }},
	"allow-plain-tcp":   {"allow-plain-tcp", func(d *daemon.Config, o *flagOpts) { d.AllowPlainTCP = o.cfg.AllowPlainTCP }},
	"live-restore":      {"live-restore", func(d *daemon.Config, o *flagOpts) { d.LiveRestore = &o.liveRestore }},
	"insecure-registry": {"insecure-registries", func(d *daemon.Config, o *flagOpts) { d.InsecureRegistries = o.cfg.InsecureRegistries }},
	"registry-mirror":   {"registry-mirrors", func(d *daemon.Config, o *flagOpts) { d.RegistryMirrors = o.cfg.RegistryMirrors }},
	"host-gateway-ip":   {"host-gateway-ip", func(d *daemon.Config, o *flagOpts) { d.HostGatewayIP = o.cfg.HostGatewayIP }},
	"ui-addr":           {"ui-addr", func(d *daemon.Config, o *flagOpts) { d.UIAddr = o.cfg.UIAddr }},
}

// loadConfig reads the config file and overlays the flags that were set;
// a key set both ways is an error naming it, as dockerd does.
func loadConfig(flags *pflag.FlagSet, o *flagOpts) (*daemon.Config, error) {
	fileCfg, fileSet, err := daemon.LoadFile(o.configFile, flags.Changed("config-file"))
	if err != nil {
		return nil, err
	}
	flagSet := map[string]bool{}
	flags.Visit(func(f *pflag.Flag) {
		if k, ok := flagKeys[f.Name]; ok {
			flagSet[k.key] = true
		}
	})
	if err := daemon.Conflicts(flagSet, fileSet); err != nil {
		return nil, err
	}
	cfg := *fileCfg
	flags.Visit(func(f *pflag.Flag) {
		if k, ok := flagKeys[f.Name]; ok {
			k.apply(&cfg, o)
		}
	})
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}
