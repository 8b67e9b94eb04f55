package daemon

import (
	"context"
	"net/netip"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/internal/version"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func osName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// Version answers /version.
func (d *Daemon) Version(ctx context.Context) system.VersionResponse {
	return system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "Berth Engine"},
		Version:       version.Version,
		GitCommit:     version.Commit(),
		APIVersion:    api.APIVersion,
		MinAPIVersion: api.MinAPIVersion,
		Os:            "linux",
		Arch:          goruntime.GOARCH,
		GoVersion:     goruntime.Version(),
		KernelVersion: kernelVersion(),
		BuildTime:     d.started.UTC().Format(time.RFC3339),
		Components: []system.ComponentVersion{
			{Name: "Engine", Version: version.Version, Details: map[string]string{
				"ApiVersion": api.APIVersion, "MinAPIVersion": api.MinAPIVersion, "Os": "linux", "Arch": goruntime.GOARCH,
				"GoVersion": goruntime.Version(), "KernelVersion": kernelVersion(), "GitCommit": version.Commit(),
			}},
			{Name: d.runtimes.DefaultName(), Version: runtimeVersion(d.runtimes.Runtimes[d.runtimes.DefaultName()].Path)},
		},
	}
}

// Info answers /info with real figures and the runtime choice explained.
func (d *Daemon) Info(ctx context.Context) (*system.Info, error) {
	running, paused, stopped := d.containers.Counts()
	imgs, _ := d.images.List(ctx, false)
	var si unix.Sysinfo_t
	unix.Sysinfo(&si)
	hostname, _ := os.Hostname()
	rts, warnings := d.runtimesInfo()
	info := &system.Info{
		ID:                 d.engineID,
		Containers:         running + paused + stopped,
		ContainersRunning:  running,
		ContainersPaused:   paused,
		ContainersStopped:  stopped,
		Images:             len(imgs),
		Driver:             "overlay2",
		DriverStatus:       [][2]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}},
		MemoryLimit:        true,
		CPUCfsPeriod:       true,
		CPUCfsQuota:        true,
		CPUShares:          true,
		CPUSet:             true,
		PidsLimit:          true,
		Debug:              d.cfg.Debug,
		NFd:                countFDs(),
		NGoroutines:        goruntime.NumGoroutine(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		LoggingDriver:      d.cfg.LogDriver,
		CgroupDriver:       d.runtimes.Host.CgroupDriver,
		CgroupVersion:      d.runtimes.Host.CgroupVersion,
		KernelVersion:      kernelVersion(),
		OperatingSystem:    osName(),
		OSType:             "linux",
		Architecture:       goruntime.GOARCH,
		NCPU:               goruntime.NumCPU(),
		MemTotal:           int64(si.Totalram) * int64(si.Unit),
		DockerRootDir:      d.cfg.DataRoot,
		Name:               hostname,
		Labels:             []string{},
		ServerVersion:      version.Version,
		Runtimes:           rts,
		DefaultRuntime:     d.runtimes.DefaultName(),
		LiveRestoreEnabled: *d.cfg.LiveRestore,
		Isolation:          container.Isolation(defaultIsolation(d.runtimes.DefaultIsolation)),
		InitBinary:         "docker-init",
		SecurityOptions:    d.securityOptions(),
		IndexServerAddress: "https://index.docker.io/v1/",
		RegistryConfig:     registryConfig(d.cfg),
		NEventsListener:    d.events.Count(),
		Warnings:           warnings,
		// No plugins and no swarm: Docker says so with empty lists and
		// "inactive", which clients read without a nil check.
		Plugins: system.PluginsInfo{
			Volume: []string{"local"}, Network: []string{"bridge", "host", "null"},
			Authorization: []string{}, Log: []string{"json-file"},
		},
		Swarm: swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
	}
	return info, nil
}

// runtimesInfo is info's Runtimes, with the host's and the runtimes'
// warnings and notes (the unusable runtimes by name, IPv6, isolations).
func (d *Daemon) runtimesInfo() (map[string]system.RuntimeWithStatus, []string) {
	rts := map[string]system.RuntimeWithStatus{}
	names := make([]string, 0, len(d.runtimes.Runtimes))
	for name, r := range d.runtimes.Runtimes {
		st := map[string]string{}
		if !r.Usable {
			st["unusable"] = r.Reason
		}
		rts[name] = system.RuntimeWithStatus{Runtime: system.Runtime{Path: r.Path, Args: r.Args}, Status: st}
		names = append(names, name)
	}
	sort.Strings(names)
	warnings := append([]string{}, d.runtimes.Host.Warnings...)
	for _, n := range names {
		if r := d.runtimes.Runtimes[n]; !r.Usable {
			warnings = append(warnings, "WARNING: runtime "+n+" is not usable: "+r.Reason)
		}
	}
	if why := network.IPv6Status(); why != "" {
		warnings = append(warnings, "WARNING: "+why)
	}
	for _, n := range d.runtimes.Host.Notes {
		warnings = append(warnings, "NOTE: "+n)
	}
	warnings = append(warnings, "NOTE: isolations available: "+strings.Join(d.runtimes.Isolations(), ", ")+" (default "+defaultIsolation(d.runtimes.DefaultIsolation)+")")
	return rts, warnings
}

// registryConfig reports the registries berthd treats as insecure (plain
// HTTP or unverified TLS: loopback always, plus insecure-registries) and
// the mirrors, in Docker's shape.
func registryConfig(cfg *Config) *registry.ServiceConfig {
	rc := &registry.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IndexConfigs: map[string]*registry.IndexInfo{
			"docker.io": {Name: "docker.io", Mirrors: nonNilStrings(cfg.RegistryMirrors), Secure: true, Official: true},
		},
		Mirrors: nonNilStrings(cfg.RegistryMirrors),
	}
	for _, r := range cfg.InsecureRegistries {
		if p, err := netip.ParsePrefix(r); err == nil {
			rc.InsecureRegistryCIDRs = append(rc.InsecureRegistryCIDRs, p)
			continue
		}
		rc.IndexConfigs[r] = &registry.IndexInfo{Name: r, Mirrors: []string{}, Secure: false}
	}
	return rc
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func countFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

func runtimeVersion(path string) string {
	out, err := execOutput(path, "--version")
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if len(f) > 0 {
		return f[len(f)-1]
	}
	return strconv.Quote(line)
}

func defaultIsolation(iso string) string {
	if iso == "" {
		return runtime.IsolationProcess
	}
	return iso
}
