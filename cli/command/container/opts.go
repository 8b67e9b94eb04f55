// Package container holds the container verbs (run, create, start, ps, ...):
// each file is one verb; its cobra command only fills an options struct and
// calls the verb's function.
package container

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/berth-dev/berth/cli/opts"
	"github.com/berth-dev/berth/internal/mountspec"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"
)

// containerOptions are the flags shared by run and create, as parsed.
type containerOptions struct {
	attach, env, envFile, labels, labelFile, publish, expose, volumes, mounts, tmpfs []string
	dns, dnsSearch, dnsOptions, addHost, ulimits, securityOpt, groupAdd, devices     []string
	capAdd, capDrop, logOpts, storageOpts, sysctls, annotations, links, volumesFrom  []string
	deviceCgroupRules, networkAliases                                                []string

	name, workdir, user, entrypoint, hostname, domainname, stopSignal, runtime   string
	restart, network, pull, platform, cidfile, logDriver, pid, ipc, uts, userns  string
	cgroupns, cgroupParent, ip, ip6, macAddress, isolation, volumeDriver, image  string
	memory, memoryReservation, memorySwap, shmSize, cpus, cpusetCpus, cpusetMems string

	interactive, tty, publishAll, privileged, readOnly, init, oomKillDisable, noHealthcheck bool
	quiet                                                                                   bool

	stopTimeout, memorySwappiness                    int
	pidsLimit, cpuShares, cpuPeriod, cpuQuota        int64
	cpuRtPeriod, cpuRtRuntime                        int64
	oomScoreAdj                                      int
	blkioWeight                                      uint16
	healthCmd                                        string
	healthRetries                                    int
	healthInterval, healthTimeout, healthStartPeriod string

	flags *pflag.FlagSet
	args  []string // command and arguments after the image
}

// addFlags registers docker's run/create flags with docker's names, short
// forms, defaults and help texts.
func addFlags(fs *pflag.FlagSet) *containerOptions {
	o := &containerOptions{flags: fs}
	list := func(p *[]string, name, short, usage string) {
		fs.VarP(opts.NewListOpts(p, "list"), name, short, usage)
	}
	list(&o.attach, "attach", "a", "Attach to STDIN, STDOUT or STDERR")
	list(&o.env, "env", "e", "Set environment variables")
	list(&o.envFile, "env-file", "", "Read in a file of environment variables")
	list(&o.labels, "label", "l", "Set meta data on a container")
	list(&o.labelFile, "label-file", "", "Read in a line delimited file of labels")
	list(&o.publish, "publish", "p", "Publish a container's port(s) to the host")
	list(&o.expose, "expose", "", "Expose a port or a range of ports")
	list(&o.volumes, "volume", "v", "Bind mount a volume")
	fs.Var(opts.NewListOpts(&o.mounts, "mount"), "mount", "Attach a filesystem mount to the container")
	list(&o.tmpfs, "tmpfs", "", "Mount a tmpfs directory")
	list(&o.dns, "dns", "", "Set custom DNS servers")
	list(&o.dnsSearch, "dns-search", "", "Set custom DNS search domains")
	list(&o.dnsOptions, "dns-option", "", "Set DNS options")
	list(&o.addHost, "add-host", "", "Add a custom host-to-IP mapping (host:ip)")
	fs.Var(opts.NewListOpts(&o.ulimits, "ulimit"), "ulimit", "Ulimit options")
	list(&o.securityOpt, "security-opt", "", "Security Options")
	list(&o.groupAdd, "group-add", "", "Add additional groups to join")
	list(&o.devices, "device", "", "Add a host device to the container")
	list(&o.deviceCgroupRules, "device-cgroup-rule", "", "Add a rule to the cgroup allowed devices list")
	list(&o.capAdd, "cap-add", "", "Add Linux capabilities")
	list(&o.capDrop, "cap-drop", "", "Drop Linux capabilities")
	list(&o.logOpts, "log-opt", "", "Log driver options")
	list(&o.storageOpts, "storage-opt", "", "Storage driver options for the container")
	fs.Var(opts.NewListOpts(&o.sysctls, "map"), "sysctl", "Sysctl options")
	fs.Var(opts.NewListOpts(&o.annotations, "map"), "annotation", "Add an annotation to the container (passed through to the OCI runtime)")
	list(&o.links, "link", "", "Add link to another container")
	list(&o.volumesFrom, "volumes-from", "", "Mount volumes from the specified container(s)")
	list(&o.networkAliases, "network-alias", "", "Add network-scoped alias for the container")

	fs.StringVar(&o.name, "name", "", "Assign a name to the container")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	fs.StringVar(&o.domainname, "domainname", "", "Container NIS domain name")
	fs.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&o.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	fs.StringVar(&o.runtime, "runtime", "", "Runtime to use for this container")
	fs.StringVar(&o.restart, "restart", "no", "Restart policy to apply when a container exits")
	fs.Var(opts.NewStringValue(&o.network, "network"), "network", "Connect a container to a network")
	fs.Var(opts.NewStringValue(&o.network, "network"), "net", "Connect a container to a network")
	_ = fs.MarkHidden("net")
	fs.StringVar(&o.pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	fs.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	fs.StringVar(&o.cidfile, "cidfile", "", "Write the container ID to the file")
	fs.StringVar(&o.logDriver, "log-driver", "", "Logging driver for the container")
	fs.StringVar(&o.pid, "pid", "", "PID namespace to use")
	fs.StringVar(&o.ipc, "ipc", "", "IPC mode to use")
	fs.StringVar(&o.uts, "uts", "", "UTS namespace to use")
	fs.StringVar(&o.userns, "userns", "", "User namespace to use")
	fs.StringVar(&o.cgroupns, "cgroupns", "", "Cgroup namespace to use (host|private)")
	fs.StringVar(&o.cgroupParent, "cgroup-parent", "", "Optional parent cgroup for the container")
	fs.StringVar(&o.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fs.StringVar(&o.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	fs.StringVar(&o.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	fs.StringVar(&o.isolation, "isolation", "", "Container isolation technology")
	fs.StringVar(&o.volumeDriver, "volume-driver", "", "Optional volume driver for the container")
	fs.VarP(opts.NewStringValue(&o.memory, "bytes"), "memory", "m", "Memory limit")
	fs.Var(opts.NewStringValue(&o.memoryReservation, "bytes"), "memory-reservation", "Memory soft limit")
	fs.Var(opts.NewStringValue(&o.memorySwap, "bytes"), "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.IntVar(&o.memorySwappiness, "memory-swappiness", -1, "Tune container memory swappiness (0 to 100)")
	fs.Var(opts.NewStringValue(&o.shmSize, "bytes"), "shm-size", "Size of /dev/shm")
	fs.Var(opts.NewStringValue(&o.cpus, "decimal"), "cpus", "Number of CPUs")
	fs.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.Int64Var(&o.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	fs.Int64Var(&o.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	fs.Int64Var(&o.cpuRtPeriod, "cpu-rt-period", 0, "Limit CPU real-time period in microseconds")
	fs.Int64Var(&o.cpuRtRuntime, "cpu-rt-runtime", 0, "Limit CPU real-time runtime in microseconds")
	fs.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.StringVar(&o.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	fs.Uint16Var(&o.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable")
	fs.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fs.IntVar(&o.oomScoreAdj, "oom-score-adj", 0, "Tune host's OOM preferences (-1000 to 1000)")
	fs.BoolVar(&o.oomKillDisable, "oom-kill-disable", false, "Disable OOM Killer")
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	fs.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	fs.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.BoolVar(&o.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the pull output")
	fs.StringVar(&o.healthCmd, "health-cmd", "", "Command to run to check health")
	fs.StringVar(&o.healthInterval, "health-interval", "", "Time between running the check (ms|s|m|h) (default 0s)")
	fs.StringVar(&o.healthTimeout, "health-timeout", "", "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fs.StringVar(&o.healthStartPeriod, "health-start-period", "", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.IntVar(&o.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.BoolVar(&o.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fs.Bool("disable-content-trust", true, "Skip image verification")
	_ = fs.MarkHidden("disable-content-trust")
	return o
}

// containerConfig is what create sends.
type containerConfig struct {
	Config           *container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
}

// parse turns the flags into the create request, doing the checks docker
// does client-side; anything else is left to the daemon.
func (o *containerOptions) parse() (*containerConfig, error) {
	changed := o.flags.Changed
	attachStdin, attachStdout, attachStderr := false, false, false
	for _, a := range o.attach {
		switch strings.ToLower(a) {
		case "stdin":
			attachStdin = true
		case "stdout":
			attachStdout = true
		case "stderr":
			attachStderr = true
		default:
			return nil, fmt.Errorf("invalid argument %q for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a)
		}
	}
	if o.interactive {
		attachStdin = true
	}
	if len(o.attach) == 0 {
		attachStdout, attachStderr = true, true
	}

	env, err := opts.ReadKVEnvStrings(o.envFile, o.env)
	if err != nil {
		return nil, err
	}
	labels, err := opts.ReadKVStrings(o.labelFile, o.labels)
	if err != nil {
		return nil, err
	}

	exposed, bindings, err := opts.ParsePortSpecs(o.publish)
	if err != nil {
		return nil, err
	}
	if err := opts.ParseExpose(o.expose, exposed); err != nil {
		return nil, err
	}

	var binds []string
	volumes := map[string]struct{}{}
	for _, v := range o.volumes {
		// A lone container path is an anonymous volume; anything with a
		// source goes to Binds for the daemon to interpret, as in docker.
		if !strings.Contains(v, ":") {
			volumes[v] = struct{}{}
			continue
		}
		binds = append(binds, v)
	}
	var mounts []mount.Mount
	for _, m := range o.mounts {
		mm, err := mountspec.ParseMount(m)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--mount\" flag: %w", m, err)
		}
		mounts = append(mounts, mm)
	}

	restart, err := opts.ParseRestartPolicy(o.restart)
	if err != nil {
		return nil, err
	}
	ulimits, err := opts.ParseUlimits(o.ulimits)
	if err != nil {
		return nil, err
	}
	var devices []container.DeviceMapping
	for _, d := range o.devices {
		dm, err := opts.ParseDevice(d)
		if err != nil {
			return nil, err
		}
		devices = append(devices, dm)
	}
	var dns []netip.Addr
	for _, d := range o.dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--dns\" flag: %s is not an ip address", d, d)
		}
		dns = append(dns, a)
	}
	for _, h := range o.addHost {
		if !strings.ContainsAny(h, ":=") {
			return nil, fmt.Errorf("invalid argument %q for \"--add-host\" flag: bad format for add-host: %q", h, h)
		}
	}

	mem, err := opts.ParseBytes(o.memory)
	if err != nil {
		return nil, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %w", o.memory, err)
	}
	memRes, err := opts.ParseBytes(o.memoryReservation)
	if err != nil {
		return nil, fmt.Errorf("invalid argument %q for \"--memory-reservation\" flag: %w", o.memoryReservation, err)
	}
	memSwap, err := opts.ParseBytes(o.memorySwap)
	if err != nil {
		return nil, fmt.Errorf("invalid argument %q for \"--memory-swap\" flag: %w", o.memorySwap, err)
	}
	shm, err := opts.ParseBytes(o.shmSize)
	if err != nil {
		return nil, fmt.Errorf("invalid argument %q for \"--shm-size\" flag: %w", o.shmSize, err)
	}
	nanoCPUs, err := opts.ParseCPUs(o.cpus)
	if err != nil {
		return nil, err
	}

	var entrypoint []string
	if o.entrypoint != "" {
		entrypoint = []string{o.entrypoint}
	} else if changed("entrypoint") {
		entrypoint = []string{""} // explicitly reset the image's entrypoint
	}

	cfg := &container.Config{
		Hostname:     o.hostname,
		Domainname:   o.domainname,
		User:         o.user,
		ExposedPorts: exposed,
		Tty:          o.tty,
		OpenStdin:    o.interactive,
		AttachStdin:  attachStdin,
		AttachStdout: attachStdout,
		AttachStderr: attachStderr,
		Env:          env,
		Cmd:          o.args,
		Image:        o.image,
		WorkingDir:   o.workdir,
		Entrypoint:   entrypoint,
		Labels:       opts.ConvertKVStringsToMap(labels),
		StopSignal:   o.stopSignal,
	}
	if len(volumes) > 0 {
		cfg.Volumes = volumes
	}
	if o.interactive && attachStdin {
		cfg.StdinOnce = true
	}
	if changed("stop-timeout") {
		t := o.stopTimeout
		cfg.StopTimeout = &t
	}
	if hc, err := o.healthConfig(); err != nil {
		return nil, err
	} else {
		cfg.Healthcheck = hc
	}

	netMode := o.network
	if netMode == "" {
		netMode = "default"
	}
	hostCfg := &container.HostConfig{
		Binds:           binds,
		ContainerIDFile: o.cidfile,
		LogConfig:       container.LogConfig{Type: o.logDriver, Config: kvMap(o.logOpts)},
		NetworkMode:     container.NetworkMode(netMode),
		PortBindings:    bindings,
		RestartPolicy:   restart,
		VolumeDriver:    o.volumeDriver,
		VolumesFrom:     o.volumesFrom,
		Annotations:     kvMap(o.annotations),
		CapAdd:          o.capAdd,
		CapDrop:         o.capDrop,
		CgroupnsMode:    container.CgroupnsMode(o.cgroupns),
		DNS:             dns,
		DNSOptions:      o.dnsOptions,
		DNSSearch:       o.dnsSearch,
		ExtraHosts:      o.addHost,
		GroupAdd:        o.groupAdd,
		IpcMode:         container.IpcMode(o.ipc),
		Links:           o.links,
		OomScoreAdj:     o.oomScoreAdj,
		PidMode:         container.PidMode(o.pid),
		Privileged:      o.privileged,
		PublishAllPorts: o.publishAll,
		ReadonlyRootfs:  o.readOnly,
		SecurityOpt:     o.securityOpt,
		StorageOpt:      kvMap(o.storageOpts),
		Tmpfs:           opts.ParseTmpfs(o.tmpfs),
		UTSMode:         container.UTSMode(o.uts),
		UsernsMode:      container.UsernsMode(o.userns),
		ShmSize:         shm,
		Sysctls:         kvMap(o.sysctls),
		Runtime:         o.runtime,
		Isolation:       container.Isolation(o.isolation),
		Mounts:          mounts,
		Resources: container.Resources{
			CPUShares:          o.cpuShares,
			Memory:             mem,
			NanoCPUs:           nanoCPUs,
			CgroupParent:       o.cgroupParent,
			BlkioWeight:        o.blkioWeight,
			CPUPeriod:          o.cpuPeriod,
			CPUQuota:           o.cpuQuota,
			CPURealtimePeriod:  o.cpuRtPeriod,
			CPURealtimeRuntime: o.cpuRtRuntime,
			CpusetCpus:         o.cpusetCpus,
			CpusetMems:         o.cpusetMems,
			Devices:            devices,
			DeviceCgroupRules:  o.deviceCgroupRules,
			MemoryReservation:  memRes,
			MemorySwap:         memSwap,
			Ulimits:            ulimits,
		},
	}
	if changed("init") {
		v := o.init
		hostCfg.Init = &v
	}
	if changed("pids-limit") {
		v := o.pidsLimit
		hostCfg.PidsLimit = &v
	}
	if changed("oom-kill-disable") {
		v := o.oomKillDisable
		hostCfg.OomKillDisable = &v
	}
	if o.memorySwappiness != -1 {
		v := int64(o.memorySwappiness)
		hostCfg.MemorySwappiness = &v
	}

	netCfg := &network.NetworkingConfig{}
	if n := o.network; n != "" && !isBuiltinNetwork(n) {
		ep := &network.EndpointSettings{Aliases: o.networkAliases}
		if o.ip != "" || o.ip6 != "" {
			ep.IPAMConfig = &network.EndpointIPAMConfig{}
			if o.ip != "" {
				a, err := netip.ParseAddr(o.ip)
				if err != nil {
					return nil, fmt.Errorf("invalid IPv4 address: %s", o.ip)
				}
				ep.IPAMConfig.IPv4Address = a
			}
			if o.ip6 != "" {
				a, err := netip.ParseAddr(o.ip6)
				if err != nil {
					return nil, fmt.Errorf("invalid IPv6 address: %s", o.ip6)
				}
				ep.IPAMConfig.IPv6Address = a
			}
		}
		netCfg.EndpointsConfig = map[string]*network.EndpointSettings{n: ep}
	} else if len(o.networkAliases) > 0 {
		return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
	}
	return &containerConfig{Config: cfg, HostConfig: hostCfg, NetworkingConfig: netCfg}, nil
}

func isBuiltinNetwork(n string) bool {
	switch n {
	case "none", "host", "bridge", "default":
		return true
	}
	return strings.HasPrefix(n, "container:")
}

func kvMap(values []string) map[string]string {
	if len(values) == 0 {
		return nil
	}
	return opts.ConvertKVStringsToMap(values)
}
