package system

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/internal/version"
	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
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
	w := infoWriter{out}
	w.p("Containers", info.Containers)
	fmt.Fprintf(out, "  Running: %d\n  Paused: %d\n  Stopped: %d\n", info.ContainersRunning, info.ContainersPaused, info.ContainersStopped)
	w.p("Images", info.Images)
	w.pIf("Server Version", info.ServerVersion)
	w.pIf("Storage Driver", info.Driver)
	for _, kv := range info.DriverStatus {
		fmt.Fprintf(out, "  %s: %s\n", kv[0], kv[1])
	}
	w.pIf("Logging Driver", info.LoggingDriver)
	w.pIf("Cgroup Driver", info.CgroupDriver)
	w.pIf("Cgroup Version", info.CgroupVersion)
	w.plugins(info.Plugins)
	state := string(info.Swarm.LocalNodeState)
	if state == "" {
		state = "inactive"
	}
	w.p("Swarm", state)
	w.runtimes(info)
	w.securityOptions(info.SecurityOptions)
	w.pIf("Kernel Version", info.KernelVersion)
	w.pIf("Operating System", info.OperatingSystem)
	w.pIf("OSType", info.OSType)
	w.pIf("Architecture", info.Architecture)
	w.p("CPUs", info.NCPU)
	w.p("Total Memory", units.BytesSize(float64(info.MemTotal)))
	w.pIf("Name", info.Name)
	w.pIf("ID", info.ID)
	w.pIf("Docker Root Dir", info.DockerRootDir)
	w.p("Debug Mode", info.Debug)
	if info.Debug {
		w.p("File Descriptors", info.NFd)
		w.p("Goroutines", info.NGoroutines)
		w.p("System Time", info.SystemTime)
		w.p("EventsListeners", info.NEventsListener)
	}
	w.pIf("HTTP Proxy", info.HTTPProxy)
	w.pIf("HTTPS Proxy", info.HTTPSProxy)
	w.pIf("No Proxy", info.NoProxy)
	w.list("Labels", info.Labels)
	w.p("Experimental", info.ExperimentalBuild)
	if rc := info.RegistryConfig; rc != nil {
		w.registries(rc)
	}
	w.p("Live Restore Enabled", info.LiveRestoreEnabled)
	fmt.Fprintln(out)
	for _, warning := range info.Warnings {
		fmt.Fprintln(errw, warning)
	}
}

// infoWriter prints the server half of docker info's text.
type infoWriter struct{ out io.Writer }

// p prints " label: v".
func (w infoWriter) p(label string, v any) { fmt.Fprintf(w.out, " %s: %v\n", label, v) }

// pIf prints " label: v" when v is not empty.
func (w infoWriter) pIf(label, v string) {
	if v != "" {
		w.p(label, v)
	}
}

// list prints " header:" and the items, one a line, when there are any.
func (w infoWriter) list(header string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w.out, " %s:\n", header)
	for _, it := range items {
		fmt.Fprintf(w.out, "  %s\n", it)
	}
}

func (w infoWriter) plugins(pl system.PluginsInfo) {
	fmt.Fprintln(w.out, " Plugins:")
	fmt.Fprintf(w.out, "  Volume: %s\n", strings.Join(pl.Volume, " "))
	fmt.Fprintf(w.out, "  Network: %s\n", strings.Join(pl.Network, " "))
	if len(pl.Authorization) > 0 {
		fmt.Fprintf(w.out, "  Authorization: %s\n", strings.Join(pl.Authorization, " "))
	}
	fmt.Fprintf(w.out, "  Log: %s\n", strings.Join(pl.Log, " "))
}

// runtimes prints the OCI runtimes, the init binary and the versions of
// containerd, runc and init.
func (w infoWriter) runtimes(info *system.Info) {
	if len(info.Runtimes) > 0 {
		names := make([]string, 0, len(info.Runtimes))
		for n := range info.Runtimes {
			names = append(names, n)
		}
		sort.Strings(names)
		w.p("Runtimes", strings.Join(names, " "))
		w.pIf("Default Runtime", info.DefaultRuntime)
	}
	w.pIf("Init Binary", info.InitBinary)
	w.pIf("containerd version", info.ContainerdCommit.ID)
	w.pIf("runc version", info.RuncCommit.ID)
	w.pIf("init version", info.InitCommit.ID)
}

// securityOptions prints "name=seccomp,profile=builtin" as docker does:
// the name, then its settings indented.
func (w infoWriter) securityOptions(options []string) {
	if len(options) == 0 {
		return
	}
	fmt.Fprintln(w.out, " Security Options:")
	for _, o := range options {
		for i, kv := range strings.Split(o, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if i == 0 && k == "name" {
				fmt.Fprintf(w.out, "  %s\n", v)
			} else if k != "name" {
				fmt.Fprintf(w.out, "   %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
			}
		}
	}
}

// registries prints the insecure registries (CIDRs and names) and mirrors.
func (w infoWriter) registries(rc *registry.ServiceConfig) {
	var cidrs []string
	for _, c := range rc.InsecureRegistryCIDRs {
		cidrs = append(cidrs, c.String())
	}
	for name, idx := range rc.IndexConfigs {
		if !idx.Secure && name != "docker.io" {
			cidrs = append(cidrs, name)
		}
	}
	sort.Strings(cidrs)
	w.list("Insecure Registries", cidrs)
	w.list("Registry Mirrors", rc.Mirrors)
}
