package system

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/internal/version"
	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// infoData is what --format sees: docker's info struct embeds the server's
// Info and adds ClientInfo and ServerErrors.
type infoData struct {
	*system.Info
	ClientInfo   *clientInfo
	ServerErrors []string `json:",omitempty"`
}

type clientInfo struct {
	Debug   bool
	Version string
	Context string
}

// NewInfoCommand is `info` / `system info`.
func NewInfoCommand(cli *command.Cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInfo(cmd.Context(), cli, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

func runInfo(ctx context.Context, cli *command.Cli, format string) error {
	data := infoData{ClientInfo: &clientInfo{Debug: cli.Debug, Version: version.Version, Context: "default"}}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res, serr := api.Info(ctx, client.InfoOptions{})
	if serr == nil {
		data.Info = &res.Info
	} else {
		data.ServerErrors = append(data.ServerErrors, command.Message(serr))
	}
	if format != "" {
		f := format
		if f == formatter.JSONFormatKey {
			f = formatter.JSONFormat
		}
		tmpl, err := formatter.NewTemplate(f)
		if err != nil {
			return command.StatusError{Status: "Template parsing error: " + err.Error(), StatusCode: 64}
		}
		if err := tmpl.Execute(cli.Out(), data); err != nil {
			return err
		}
		fmt.Fprintln(cli.Out())
		if serr != nil {
			return serr
		}
		return nil
	}
	out := cli.Out()
	fmt.Fprintln(out, "Client:")
	fmt.Fprintln(out, " Version:   ", version.Version)
	fmt.Fprintln(out, " Context:   ", "default")
	fmt.Fprintln(out, " Debug Mode:", cli.Debug)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Server:")
	if serr != nil {
		for _, e := range data.ServerErrors {
			fmt.Fprintln(out, "ERROR:", e)
		}
		return command.StatusError{Status: "errors pretty printing info", StatusCode: 1}
	}
	prettyPrintServerInfo(out, cli.Err(), data.Info)
	return nil
}

// prettyPrintServerInfo follows docker's layout and labels (scripts grep
// them), then the daemon's warnings on stderr as docker does.
func prettyPrintServerInfo(out, errw io.Writer, info *system.Info) {
	p := func(label string, v any) { fmt.Fprintf(out, " %s: %v\n", label, v) }
	pIf := func(label, v string) {
		if v != "" {
			p(label, v)
		}
	}
	p("Containers", info.Containers)
	fmt.Fprintf(out, "  Running: %d\n  Paused: %d\n  Stopped: %d\n", info.ContainersRunning, info.ContainersPaused, info.ContainersStopped)
	p("Images", info.Images)
	pIf("Server Version", info.ServerVersion)
	pIf("Storage Driver", info.Driver)
	for _, kv := range info.DriverStatus {
		fmt.Fprintf(out, "  %s: %s\n", kv[0], kv[1])
	}
	pIf("Logging Driver", info.LoggingDriver)
	pIf("Cgroup Driver", info.CgroupDriver)
	pIf("Cgroup Version", info.CgroupVersion)
	fmt.Fprintln(out, " Plugins:")
	fmt.Fprintf(out, "  Volume: %s\n", strings.Join(info.Plugins.Volume, " "))
	fmt.Fprintf(out, "  Network: %s\n", strings.Join(info.Plugins.Network, " "))
	if len(info.Plugins.Authorization) > 0 {
		fmt.Fprintf(out, "  Authorization: %s\n", strings.Join(info.Plugins.Authorization, " "))
	}
	fmt.Fprintf(out, "  Log: %s\n", strings.Join(info.Plugins.Log, " "))
	state := string(info.Swarm.LocalNodeState)
	if state == "" {
		state = "inactive"
	}
	p("Swarm", state)
	if len(info.Runtimes) > 0 {
		names := make([]string, 0, len(info.Runtimes))
		for n := range info.Runtimes {
			names = append(names, n)
		}
		sort.Strings(names)
		p("Runtimes", strings.Join(names, " "))
		pIf("Default Runtime", info.DefaultRuntime)
	}
	pIf("Init Binary", info.InitBinary)
	if info.ContainerdCommit.ID != "" {
		p("containerd version", info.ContainerdCommit.ID)
	}
	if info.RuncCommit.ID != "" {
		p("runc version", info.RuncCommit.ID)
	}
	if info.InitCommit.ID != "" {
		p("init version", info.InitCommit.ID)
	}
	if len(info.SecurityOptions) > 0 {
		fmt.Fprintln(out, " Security Options:")
		for _, o := range info.SecurityOptions {
			parts := strings.Split(o, ",")
			for i, kv := range parts {
				k, v, _ := strings.Cut(kv, "=")
				if i == 0 && k == "name" {
					fmt.Fprintf(out, "  %s\n", v)
				} else if k != "name" {
					fmt.Fprintf(out, "   %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
				}
			}
		}
	}
	pIf("Kernel Version", info.KernelVersion)
	pIf("Operating System", info.OperatingSystem)
	pIf("OSType", info.OSType)
	pIf("Architecture", info.Architecture)
	p("CPUs", info.NCPU)
	p("Total Memory", units.BytesSize(float64(info.MemTotal)))
	pIf("Name", info.Name)
	pIf("ID", info.ID)
	pIf("Docker Root Dir", info.DockerRootDir)
	p("Debug Mode", info.Debug)
	if info.Debug {
		p("File Descriptors", info.NFd)
		p("Goroutines", info.NGoroutines)
		p("System Time", info.SystemTime)
		p("EventsListeners", info.NEventsListener)
	}
	pIf("HTTP Proxy", info.HTTPProxy)
	pIf("HTTPS Proxy", info.HTTPSProxy)
	pIf("No Proxy", info.NoProxy)
	if len(info.Labels) > 0 {
		fmt.Fprintln(out, " Labels:")
		for _, l := range info.Labels {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	p("Experimental", info.ExperimentalBuild)
	if rc := info.RegistryConfig; rc != nil {
		var cidrs []string
		for _, c := range rc.InsecureRegistryCIDRs {
			cidrs = append(cidrs, c.String())
		}
		for name, idx := range rc.IndexConfigs {
			if !idx.Secure && name != "docker.io" {
				cidrs = append(cidrs, name)
			}
		}
		if len(cidrs) > 0 {
			fmt.Fprintln(out, " Insecure Registries:")
			sort.Strings(cidrs)
			for _, c := range cidrs {
				fmt.Fprintf(out, "  %s\n", c)
			}
		}
		if len(rc.Mirrors) > 0 {
			fmt.Fprintln(out, " Registry Mirrors:")
			for _, m := range rc.Mirrors {
				fmt.Fprintf(out, "  %s\n", m)
			}
		}
	}
	p("Live Restore Enabled", info.LiveRestoreEnabled)
	fmt.Fprintln(out)
	for _, w := range info.Warnings {
		fmt.Fprintln(errw, w)
	}
}
