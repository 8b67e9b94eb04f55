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

	name, workdir, user, entrypoint, hostname, domainname, stopSignal, runtime  string
	restart, network, pull, platform, cidfile, logDriver, pid, ipc, uts, userns string
	cgroupns, cgroupParent, ip, ip6, macAddress, isolation, volumeDriver, image string
	shmSize                                                                     string

	interactive, tty, publishAll, privileged, readOnly, init, oomKillDisable, noHealthcheck bool
	quiet                                                                                   bool

	stopTimeout, memorySwappiness                    int
	oomScoreAdj                                      int
	healthCmd                                        string
	healthRetries                                    int
	healthInterval, healthTimeout, healthStartPeriod string

	limitFlags

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
	o.addProcessFlags(fs, list)
	o.addNetworkFlags(fs, list)
	o.addStorageFlags(fs, list)
	o.addResourceFlags(fs, list)
	o.addSecurityFlags(fs, list)
	return o
}

// addProcessFlags registers the flags of the process and its lifecycle: command, environment, labels, streams, restart, health, logging, pulling.
func (o *containerOptions) addProcessFlags(fs *pflag.FlagSet, list func(p *[]string, name, short, usage string)) {
	list(&o.attach, "attach", "a", "Attach to STDIN, STDOUT or STDERR")
	list(&o.env, "env", "e", "Set environment variables")
	list(&o.envFile, "env-file", "", "Read in a file of environment variables")
	list(&o.labels, "label", "l", "Set meta data on a container")
	list(&o.labelFile, "label-file", "", "Read in a line delimited file of labels")
	list(&o.logOpts, "log-opt", "", "Log driver options")
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
	fs.StringVar(&o.pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	fs.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	fs.StringVar(&o.cidfile, "cidfile", "", "Write the container ID to the file")
	fs.StringVar(&o.logDriver, "log-driver", "", "Logging driver for the container")
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
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
}

// addNetworkFlags registers the flags of networking: ports, DNS, hosts, networks and addresses.
func (o *containerOptions) addNetworkFlags(fs *pflag.FlagSet, list func(p *[]string, name, short, usage string)) {
	list(&o.publish, "publish", "p", "Publish a container's port(s) to the host")
	list(&o.expose, "expose", "", "Expose a port or a range of ports")
	list(&o.dns, "dns", "", "Set custom DNS servers")
	list(&o.dnsSearch, "dns-search", "", "Set custom DNS search domains")
	list(&o.dnsOptions, "dns-option", "", "Set DNS options")
	list(&o.addHost, "add-host", "", "Add a custom host-to-IP mapping (host:ip)")
	list(&o.links, "link", "", "Add link to another container")
	list(&o.networkAliases, "network-alias", "", "Add network-scoped alias for the container")
	fs.Var(opts.NewStringValue(&o.network, "network"), "network", "Connect a container to a network")
	fs.Var(opts.NewStringValue(&o.network, "network"), "net", "Connect a container to a network")
	_ = fs.MarkHidden("net")
	fs.StringVar(&o.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fs.StringVar(&o.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	fs.StringVar(&o.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	fs.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
}

// addStorageFlags registers the flags of volumes, mounts and the root filesystem.
func (o *containerOptions) addStorageFlags(fs *pflag.FlagSet, list func(p *[]string, name, short, usage string)) {
	list(&o.volumes, "volume", "v", "Bind mount a volume")
	fs.Var(opts.NewListOpts(&o.mounts, "mount"), "mount", "Attach a filesystem mount to the container")
	list(&o.tmpfs, "tmpfs", "", "Mount a tmpfs directory")
	list(&o.storageOpts, "storage-opt", "", "Storage driver options for the container")
	list(&o.volumesFrom, "volumes-from", "", "Mount volumes from the specified container(s)")
	fs.StringVar(&o.volumeDriver, "volume-driver", "", "Optional volume driver for the container")
	fs.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
}

// addResourceFlags registers the flags of cgroup limits, devices and ulimits.
func (o *containerOptions) addResourceFlags(fs *pflag.FlagSet, list func(p *[]string, name, short, usage string)) {
	fs.Var(opts.NewListOpts(&o.ulimits, "ulimit"), "ulimit", "Ulimit options")
	list(&o.devices, "device", "", "Add a host device to the container")
	list(&o.deviceCgroupRules, "device-cgroup-rule", "", "Add a rule to the cgroup allowed devices list")
	fs.StringVar(&o.cgroupParent, "cgroup-parent", "", "Optional parent cgroup for the container")
	o.limitFlags.bind(fs)
	fs.IntVar(&o.memorySwappiness, "memory-swappiness", -1, "Tune container memory swappiness (0 to 100)")
	fs.Var(opts.NewStringValue(&o.shmSize, "bytes"), "shm-size", "Size of /dev/shm")
	fs.IntVar(&o.oomScoreAdj, "oom-score-adj", 0, "Tune host's OOM preferences (-1000 to 1000)")
	fs.BoolVar(&o.oomKillDisable, "oom-kill-disable", false, "Disable OOM Killer")
}

// addSecurityFlags registers the flags of privileges, capabilities, namespaces and kernel settings.
func (o *containerOptions) addSecurityFlags(fs *pflag.FlagSet, list func(p *[]string, name, short, usage string)) {
	list(&o.securityOpt, "security-opt", "", "Security Options")
	list(&o.groupAdd, "group-add", "", "Add additional groups to join")
	list(&o.capAdd, "cap-add", "", "Add Linux capabilities")
	list(&o.capDrop, "cap-drop", "", "Drop Linux capabilities")
	fs.Var(opts.NewListOpts(&o.sysctls, "map"), "sysctl", "Sysctl options")
	fs.Var(opts.NewListOpts(&o.annotations, "map"), "annotation", "Add an annotation to the container (passed through to the OCI runtime)")
	fs.StringVar(&o.pid, "pid", "", "PID namespace to use")
	fs.StringVar(&o.ipc, "ipc", "", "IPC mode to use")
	fs.StringVar(&o.uts, "uts", "", "UTS namespace to use")
	fs.StringVar(&o.userns, "userns", "", "User namespace to use")
	fs.StringVar(&o.cgroupns, "cgroupns", "", "Cgroup namespace to use (host|private)")
	fs.StringVar(&o.isolation, "isolation", "", "Container isolation technology")
	fs.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
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
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	hostCfg, err := o.hostConfig()
	if err != nil {
		return nil, err
	}
	exposed, bindings, err := o.ports()
	if err != nil {
		return nil, err
	}
	cfg.ExposedPorts, hostCfg.PortBindings = exposed, bindings
	binds, volumes, mounts, err := o.storage()
	if err != nil {
		return nil, err
	}
	hostCfg.Binds, hostCfg.Mounts = binds, mounts
	if len(volumes) > 0 {
		cfg.Volumes = volumes
	}
	if hostCfg.Resources, err = o.resources(); err != nil {
		return nil, err
	}
	if hostCfg.DNS, err = o.dnsServers(); err != nil {
		return nil, err
	}
	netCfg, err := o.networkingConfig()
	if err != nil {
		return nil, err
	}
	return &containerConfig{Config: cfg, HostConfig: hostCfg, NetworkingConfig: netCfg}, nil
}

// attachStreams reads -a/--attach and -i into the streams to attach.
func (o *containerOptions) attachStreams() (stdin, stdout, stderr bool, err error) {
	for _, a := range o.attach {
		switch strings.ToLower(a) {
		case "stdin":
			stdin = true
		case "stdout":
			stdout = true
		case "stderr":
			stderr = true
		default:
			return false, false, false, fmt.Errorf("invalid argument %q for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR", a)
		}
	}
	if o.interactive {
		stdin = true
	}
	if len(o.attach) == 0 {
		stdout, stderr = true, true
	}
	return stdin, stdout, stderr, nil
}

// config is the container's own settings: process, environment, labels,
// streams, stop and health (ports and volumes are added by parse).
func (o *containerOptions) config() (*container.Config, error) {
	attachStdin, attachStdout, attachStderr, err := o.attachStreams()
	if err != nil {
		return nil, err
	}
	env, err := opts.ReadKVEnvStrings(o.envFile, o.env)
	if err != nil {
		return nil, err
	}
	labels, err := opts.ReadKVStrings(o.labelFile, o.labels)
	if err != nil {
		return nil, err
	}
	var entrypoint []string
	if o.entrypoint != "" {
		entrypoint = []string{o.entrypoint}
	} else if o.flags.Changed("entrypoint") {
		entrypoint = []string{""} // explicitly reset the image's entrypoint
	}
	cfg := &container.Config{
		Hostname:     o.hostname,
		Domainname:   o.domainname,
		User:         o.user,
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
	if o.interactive && attachStdin {
		cfg.StdinOnce = true
	}
	if o.flags.Changed("stop-timeout") {
		t := o.stopTimeout
		cfg.StopTimeout = &t
	}
	if cfg.Healthcheck, err = o.healthConfig(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ports reads -p and --expose.
func (o *containerOptions) ports() (network.PortSet, network.PortMap, error) {
	exposed, bindings, err := opts.ParsePortSpecs(o.publish)
	if err != nil {
		return nil, nil, err
	}
	if err := opts.ParseExpose(o.expose, exposed); err != nil {
		return nil, nil, err
	}
	return exposed, bindings, nil
}

// storage reads -v and --mount: binds and anonymous volumes from -v, the
// mounts of --mount.
func (o *containerOptions) storage() (binds []string, volumes map[string]struct{}, mounts []mount.Mount, err error) {
	volumes = map[string]struct{}{}
	for _, v := range o.volumes {
		// A lone container path is an anonymous volume; anything with a
		// source goes to Binds for the daemon to interpret, as in docker.
		if !strings.Contains(v, ":") {
			volumes[v] = struct{}{}
			continue
		}
		binds = append(binds, v)
	}
	for _, m := range o.mounts {
		mm, err := mountspec.ParseMount(m)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("invalid argument %q for \"--mount\" flag: %w", m, err)
		}
		mounts = append(mounts, mm)
	}
	return binds, volumes, mounts, nil
}

// hostConfig is the settings the host applies: restart, logging,
// namespaces, security (ports, storage, DNS and resources are added by
// parse).
func (o *containerOptions) hostConfig() (*container.HostConfig, error) {
	restart, err := opts.ParseRestartPolicy(o.restart)
	if err != nil {
		return nil, err
	}
	for _, h := range o.addHost {
		if !strings.ContainsAny(h, ":=") {
			return nil, fmt.Errorf("invalid argument %q for \"--add-host\" flag: bad format for add-host: %q", h, h)
		}
	}
	shm, err := opts.ParseBytes(o.shmSize)
	if err != nil {
		return nil, fmt.Errorf("invalid argument %q for \"--shm-size\" flag: %w", o.shmSize, err)
	}
	netMode := o.network
	if netMode == "" {
		netMode = "default"
	}
	hostCfg := &container.HostConfig{
		ContainerIDFile: o.cidfile,
		LogConfig:       container.LogConfig{Type: o.logDriver, Config: kvMap(o.logOpts)},
		NetworkMode:     container.NetworkMode(netMode),
		RestartPolicy:   restart,
		VolumeDriver:    o.volumeDriver,
		VolumesFrom:     o.volumesFrom,
		Annotations:     kvMap(o.annotations),
		CapAdd:          o.capAdd,
		CapDrop:         o.capDrop,
		CgroupnsMode:    container.CgroupnsMode(o.cgroupns),
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
	}
	if o.flags.Changed("init") {
		v := o.init
		hostCfg.Init = &v
	}
	return hostCfg, nil
}

// resources reads the cgroup limits: memory, CPU, block I/O, devices,
// ulimits and the tri-state ones (pids, OOM killer, swappiness).
func (o *containerOptions) resources() (container.Resources, error) {
	var r container.Resources
	var err error
	if r.Ulimits, err = opts.ParseUlimits(o.ulimits); err != nil {
		return r, err
	}
	for _, d := range o.devices {
		dm, err := opts.ParseDevice(d)
		if err != nil {
			return r, err
		}
		r.Devices = append(r.Devices, dm)
	}
	if err = o.limitFlags.apply(&r, o.flags); err != nil {
		return r, err
	}
	r.CgroupParent = o.cgroupParent
	r.DeviceCgroupRules = o.deviceCgroupRules
	if o.flags.Changed("oom-kill-disable") {
		v := o.oomKillDisable
		r.OomKillDisable = &v
	}
	if o.memorySwappiness != -1 {
		v := int64(o.memorySwappiness)
		r.MemorySwappiness = &v
	}
	return r, nil
}

// dnsServers reads --dns: addresses only, as docker checks them.
func (o *containerOptions) dnsServers() ([]netip.Addr, error) {
	var dns []netip.Addr
	for _, d := range o.dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--dns\" flag: %s is not an ip address", d, d)
		}
		dns = append(dns, a)
	}
	return dns, nil
}

// networkingConfig is the endpoint on a user-defined --network: aliases
// and static addresses, which the built-in networks do not take.
func (o *containerOptions) networkingConfig() (*network.NetworkingConfig, error) {
	netCfg := &network.NetworkingConfig{}
	n := o.network
	if n == "" || isBuiltinNetwork(n) {
		if len(o.networkAliases) > 0 {
			return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
		}
		return netCfg, nil
	}
	ep := &network.EndpointSettings{Aliases: o.networkAliases}
	ipam, bad, is6 := opts.EndpointIPAM(o.ip, o.ip6)
	if bad != "" {
		family := "IPv4"
		if is6 {
			family = "IPv6"
		}
		return nil, fmt.Errorf("invalid %s address: %s", family, bad)
	}
	ep.IPAMConfig = ipam
	netCfg.EndpointsConfig = map[string]*network.EndpointSettings{n: ep}
	return netCfg, nil
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

// limitFlags are the cgroup limit flags run, create and update share.
type limitFlags struct {
	memory, memoryReservation, memorySwap, cpus, cpusetCpus, cpusetMems  string
	cpuShares, cpuPeriod, cpuQuota, cpuRtPeriod, cpuRtRuntime, pidsLimit int64
	blkioWeight                                                          uint16
}

// bind registers the limit flags with docker's names, defaults and help.
func (l *limitFlags) bind(fs *pflag.FlagSet) {
	fs.VarP(opts.NewStringValue(&l.memory, "bytes"), "memory", "m", "Memory limit")
	fs.Var(opts.NewStringValue(&l.memoryReservation, "bytes"), "memory-reservation", "Memory soft limit")
	fs.Var(opts.NewStringValue(&l.memorySwap, "bytes"), "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.Var(opts.NewStringValue(&l.cpus, "decimal"), "cpus", "Number of CPUs")
	fs.Int64VarP(&l.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.Int64Var(&l.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	fs.Int64Var(&l.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	fs.Int64Var(&l.cpuRtPeriod, "cpu-rt-period", 0, "Limit CPU real-time period in microseconds")
	fs.Int64Var(&l.cpuRtRuntime, "cpu-rt-runtime", 0, "Limit CPU real-time runtime in microseconds")
	fs.StringVar(&l.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.StringVar(&l.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	fs.Uint16Var(&l.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable")
	fs.Int64Var(&l.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
}

// given reports whether any limit flag was given in fs.
func (l *limitFlags) given(fs *pflag.FlagSet) bool {
	var probe limitFlags
	names := pflag.NewFlagSet("limits", pflag.ContinueOnError)
	probe.bind(names)
	given := false
	names.VisitAll(func(f *pflag.Flag) { given = given || fs.Changed(f.Name) })
	return given
}

// apply parses the limit flags into r; the pids limit only if it was
// given (0 is a limit to set, not "unchanged").
func (l *limitFlags) apply(r *container.Resources, fs *pflag.FlagSet) error {
	for _, b := range []struct {
		dst  *int64
		val  string
		flag string
	}{
		{&r.Memory, l.memory, "-m, --memory"},
		{&r.MemoryReservation, l.memoryReservation, "--memory-reservation"},
		{&r.MemorySwap, l.memorySwap, "--memory-swap"},
	} {
		n, err := opts.ParseBytes(b.val)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"%s\" flag: %w", b.val, b.flag, err)
		}
		*b.dst = n
	}
	n, err := opts.ParseCPUs(l.cpus)
	if err != nil {
		return err
	}
	r.NanoCPUs, r.CPUShares = n, l.cpuShares
	r.CPUPeriod, r.CPUQuota = l.cpuPeriod, l.cpuQuota
	r.CPURealtimePeriod, r.CPURealtimeRuntime = l.cpuRtPeriod, l.cpuRtRuntime
	r.CpusetCpus, r.CpusetMems = l.cpusetCpus, l.cpusetMems
	r.BlkioWeight = l.blkioWeight
	if fs.Changed("pids-limit") {
		v := l.pidsLimit
		r.PidsLimit = &v
	}
	return nil
}
