package runtime

import (
	"fmt"
	"maps"
	"math/bits"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultCapabilities is Docker's default capability set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// AllCapabilities is every capability the kernel knows, for --privileged
// and --cap-add ALL, in the kernel's numbering order (boundingSet relies
// on it).
var AllCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// Docker's masked and read-only paths.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// SpecOptions is everything needed to write a container's OCI config.
type SpecOptions struct {
	ID         string
	Rootfs     string
	Config     *container.Config
	HostConfig *container.HostConfig
	// Args is the resolved entrypoint + command.
	Args []string
	// Env is the final environment (image, then user, then PATH/HOSTNAME).
	Env  []string
	User specs.User
	// Files are bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf.
	HostnamePath, HostsPath, ResolvConfPath string
	// InitPath is the init binary for --init (tini), bind-mounted at /sbin/docker-init.
	InitPath string
	// CgroupParent is the cgroupfs parent ("/berth" by default).
	CgroupParent string
	// ExtraMounts are mounts from -v/--mount/--tmpfs, already resolved.
	ExtraMounts []specs.Mount
	// NetNSPath is the network namespace the container joins ("" makes a
	// new one, unless the network mode is host).
	NetNSPath string
	// Namespaces maps a namespace type ("network", "ipc", "uts", ...) to a
	// path to join; it overrides the host config's modes and NetNSPath
	// (CRI pods share a sandbox's namespaces this way).
	Namespaces map[string]string
}

// capList applies --cap-add / --cap-drop / --privileged to the default set,
// as Docker does (ALL in either list, names with or without CAP_).
func capList(hc *container.HostConfig) ([]string, error) {
	caps, err := requestedCaps(hc)
	if err != nil {
		return nil, err
	}
	// A container cannot get a capability berthd itself does not hold
	// (this host's root lacks CAP_SYS_RESOURCE, for one): ask the runtime
	// only for what the bounding set allows, or it fails with EPERM.
	bound := boundingSet()
	if bound == nil {
		return caps, nil
	}
	out := caps[:0]
	for _, c := range caps {
		if bound[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// capIndex numbers AllCapabilities (at most 64) for requestedCaps' sets,
// made once: two maps built per start were most of BuildSpec's garbage.
var capIndex = sync.OnceValue(func() map[string]uint {
	m := make(map[string]uint, len(AllCapabilities))
	for i, c := range AllCapabilities {
		m[c] = uint(i)
	}
	return m
})

// defaultCapSet is DefaultCapabilities as a set of capIndex bits.
var defaultCapSet = sync.OnceValue(func() uint64 {
	var set uint64
	for _, c := range DefaultCapabilities {
		set |= 1 << capIndex()[c]
	}
	return set
})

func requestedCaps(hc *container.HostConfig) ([]string, error) {
	if hc.Privileged {
		return append([]string(nil), AllCapabilities...), nil
	}
	norm := func(c string) string {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "ALL" {
			return c
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		return c
	}
	known := capIndex()
	set := defaultCapSet()
	for _, c := range hc.CapDrop {
		c = norm(c)
		if c == "ALL" {
			set = 0
			continue
		}
		i, ok := known[c]
		if !ok {
			return nil, fmt.Errorf("unknown capability to drop: %q", c)
		}
		set &^= 1 << i
	}
	for _, c := range hc.CapAdd {
		c = norm(c)
		if c == "ALL" {
			set = 1<<len(AllCapabilities) - 1
			continue
		}
		i, ok := known[c]
		if !ok {
			return nil, fmt.Errorf("unknown capability to add: %q", c)
		}
		set |= 1 << i
	}
	out := make([]string, 0, bits.OnesCount64(set))
	for i, c := range AllCapabilities {
		if set&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// Capabilities returns the effective capability list for a host config; it
// is exported so create can reject unknown names before anything starts.
func Capabilities(hc *container.HostConfig) ([]string, error) { return capList(hc) }

// BuildSpec makes the OCI runtime spec of a container with Docker's
// defaults: namespaces, mounts, masked paths, capabilities, devices.
func BuildSpec(o SpecOptions) (*specs.Spec, error) {
	cfg, hc := o.Config, o.HostConfig
	caps, err := capList(hc)
	if err != nil {
		return nil, err
	}
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	s := &specs.Spec{
		Version: ociVersion,
		Process: &specs.Process{
			Terminal: cfg.Tty,
			User:     o.User,
			Args:     o.Args,
			Env:      o.Env,
			Cwd:      cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: false,
			OOMScoreAdj:     intPtr(hc.OomScoreAdj),
		},
		Root:        &specs.Root{Path: o.Rootfs, Readonly: hc.ReadonlyRootfs},
		Annotations: maps.Clone(hc.Annotations),
		Hostname:    cfg.Hostname,
		Linux: &specs.Linux{
			CgroupsPath: filepath.Join(cgroupParent(o.CgroupParent), o.ID),
			Resources:   &specs.LinuxResources{},
		},
	}
	if cfg.Tty {
		s.Process.Env = appendIfMissing(s.Process.Env, "TERM=xterm")
	}
	specNamespaces(s, hc, o.NetNSPath, o.Namespaces)
	specMounts(s, o)
	specConfinement(s, hc, o.ExtraMounts)
	applyResources(s, hc)
	if len(hc.Sysctls) > 0 {
		s.Linux.Sysctl = maps.Clone(hc.Sysctls)
	}
	if err := applyUlimits(s, hc.Ulimits); err != nil {
		return nil, err
	}
	if err := applyDevices(s, hc); err != nil {
		return nil, err
	}
	if err := applySecurityOpts(s, hc); err != nil {
		return nil, err
	}
	return s, nil
}

// specNamespaces gives the container its own mount, UTS, IPC, PID, network
// and (with --cgroupns=private) cgroup namespaces, less those shared with
// the host; the network namespace is the one berthd set up at netnsPath.
func specNamespaces(s *specs.Spec, hc *container.HostConfig, netnsPath string, join map[string]string) {
	s.Linux.Namespaces = []specs.LinuxNamespace{
		{Type: specs.MountNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.IPCNamespace},
	}
	if hc.PidMode != "host" {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
	}
	switch {
	case hc.NetworkMode == "host":
		s.Hostname = "" // keeps the host's UTS name, as Docker does
		s.Linux.Namespaces = removeNS(s.Linux.Namespaces, specs.UTSNamespace)
	default:
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: netnsPath})
	}
	if hc.IpcMode == "host" {
		s.Linux.Namespaces = removeNS(s.Linux.Namespaces, specs.IPCNamespace)
	}
	if hc.CgroupnsMode.IsPrivate() {
		// The container sees its own cgroup as "/" (create refuses any
		// mode other than "", "host" and "private").
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	if hc.UTSMode == "host" {
		s.Hostname = ""
		s.Linux.Namespaces = removeNS(s.Linux.Namespaces, specs.UTSNamespace)
	}
	for typ, path := range join {
		s.Linux.Namespaces = removeNS(s.Linux.Namespaces, specs.LinuxNamespaceType(typ))
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.LinuxNamespaceType(typ), Path: path})
	}
}

// specMounts lays out the container's file systems: Docker's standard
// /proc, /dev, /sys ... mounts, the files berthd writes for it (resolv.conf,
// hostname, hosts), the init, then the user's mounts.
func specMounts(s *specs.Spec, o SpecOptions) {
	hc := o.HostConfig
	shmSize := int64(64 << 20)
	if hc.ShmSize > 0 {
		shmSize = hc.ShmSize
	}
	s.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", fmt.Sprintf("size=%dk", shmSize/1024)}},
	}
	if hc.NetworkMode == "host" {
		// sysfs of the host's network namespace cannot be mounted fresh.
		s.Mounts[3] = specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
	}
	if hc.Privileged {
		s.Mounts[3].Options = removeOpt(s.Mounts[3].Options, "ro")
		s.Mounts[4].Options = removeOpt(s.Mounts[4].Options, "ro")
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/resolv.conf", o.ResolvConfPath}, {"/etc/hostname", o.HostnamePath}, {"/etc/hosts", o.HostsPath},
	} {
		if f.src == "" {
			continue
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate"}})
	}
	if o.InitPath != "" {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sbin/docker-init", Type: "bind", Source: o.InitPath, Options: []string{"bind", "ro"}})
	}
	s.Mounts = append(s.Mounts, o.ExtraMounts...)
	s.Linux.RootfsPropagation = rootfsPropagation(o.ExtraMounts)
}

// rootfsPropagation is the propagation the container's root needs for its
// mounts' own to work, as Docker sets it: "rshared" if a mount is shared
// (mounts made inside reach the host), "rslave" if one is slave (host
// mounts reach the container), "" (the runtime's default) otherwise.
func rootfsPropagation(mounts []specs.Mount) string {
	out := ""
	for _, m := range mounts {
		for _, o := range m.Options {
			switch o {
			case "shared", "rshared":
				return "rshared"
			case "slave", "rslave":
				out = "rslave"
			}
		}
	}
	return out
}

// specConfinement masks and write-protects kernel paths and limits devices
// to Docker's defaults; --privileged lifts both and hands the host's
// devices in.
func specConfinement(s *specs.Spec, hc *container.HostConfig, userMounts []specs.Mount) {
	if hc.Privileged {
		s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		s.Linux.Devices = hostDevices()
		return
	}
	s.Linux.MaskedPaths = maskedPaths
	s.Linux.ReadonlyPaths = readonlyPaths
	if !mountsOver(userMounts, "/sys/fs/cgroup") {
		// The "ro" of the cgroup mount reaches only the v1 hierarchies:
		// crun and runc put them on a tmpfs they leave writable (hybrid
		// and v1 hosts). Remounting the whole of /sys/fs/cgroup
		// read-only closes that on every runtime, as Docker has it.
		s.Linux.ReadonlyPaths = append(append([]string(nil), readonlyPaths...), "/sys/fs/cgroup")
	}
	s.Linux.Resources.Devices = defaultDeviceRules()
	// The API's masked and read-only paths replace the defaults, as Docker
	// applies them (the CRI passes kubelet's lists this way).
	if hc.MaskedPaths != nil {
		s.Linux.MaskedPaths = hc.MaskedPaths
	}
	if hc.ReadonlyPaths != nil {
		s.Linux.ReadonlyPaths = hc.ReadonlyPaths
	}
}

// mountsOver reports whether a user mount covers dst itself: the user's
// choice of options there wins.
func mountsOver(ms []specs.Mount, dst string) bool {
	for _, m := range ms {
		if path.Clean(m.Destination) == dst {
			return true
		}
	}
	return false
}

func cgroupParent(p string) string {
	if p == "" {
		return "/berth"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

func intPtr(n int) *int { return &n }

func appendIfMissing(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for _, e := range env {
		if strings.HasPrefix(e, k+"=") {
			return env
		}
	}
	return append(env, kv)
}

func removeNS(ns []specs.LinuxNamespace, t specs.LinuxNamespaceType) []specs.LinuxNamespace {
	out := ns[:0]
	for _, n := range ns {
		if n.Type != t {
			out = append(out, n)
		}
	}
	return out
}

func removeOpt(opts []string, o string) []string {
	var out []string
	for _, x := range opts {
		if x != o {
			out = append(out, x)
		}
	}
	return out
}

func devRule(typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// defaultDeviceRules is Docker's device cgroup allow-list: deny all, the
// standard devices, and /dev/net/tun.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	rules = append(rules, standardDeviceRules()...)
	return append(rules, devRule("c", 10, 200, "rwm"))
}

// standardDeviceRules allow mknod of any device, and /dev/null, random,
// full, tty, zero, urandom, console, the pty slaves and ptmx: Docker's
// default rules have them, and crun adds them itself (crunDefaultDevices).
func standardDeviceRules() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{
		devRule("c", -1, -1, "m"), devRule("b", -1, -1, "m"),
		devRule("c", 1, 3, "rwm"), devRule("c", 1, 8, "rwm"), devRule("c", 1, 7, "rwm"),
		devRule("c", 5, 0, "rwm"), devRule("c", 1, 5, "rwm"), devRule("c", 1, 9, "rwm"),
		devRule("c", 5, 1, "rwm"), devRule("c", 136, -1, "rwm"), devRule("c", 5, 2, "rwm"),
	}
}

// hostDevices lists the host's /dev character and block devices for
// --privileged containers.
func hostDevices() []specs.LinuxDevice {
	var out []specs.LinuxDevice
	entries, _ := os.ReadDir("/dev")
	for _, e := range entries {
		if e.Type()&os.ModeDevice == 0 {
			continue
		}
		d, err := deviceFromPath(filepath.Join("/dev", e.Name()))
		if err == nil {
			out = append(out, *d)
		}
	}
	return out
}

func applyResources(s *specs.Spec, hc *container.HostConfig) {
	r := s.Linux.Resources
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	if hc.Memory > 0 {
		m := hc.Memory
		mem().Limit = &m
		if hc.MemorySwap != 0 {
			sw := hc.MemorySwap
			r.Memory.Swap = &sw
		}
	}
	if hc.MemoryReservation > 0 {
		v := hc.MemoryReservation
		mem().Reservation = &v
	}
	if hc.MemorySwappiness != nil && *hc.MemorySwappiness >= 0 {
		v := uint64(*hc.MemorySwappiness)
		mem().Swappiness = &v
	}
	if hc.OomKillDisable != nil && *hc.OomKillDisable {
		t := true
		mem().DisableOOMKiller = &t
	}
	if hc.NanoCPUs > 0 || hc.CPUShares > 0 || hc.CPUQuota > 0 || hc.CPUPeriod > 0 || hc.CpusetCpus != "" || hc.CpusetMems != "" {
		r.CPU = &specs.LinuxCPU{}
		if hc.NanoCPUs > 0 {
			period := uint64(100000)
			quota := hc.NanoCPUs * int64(period) / 1e9
			r.CPU.Period, r.CPU.Quota = &period, &quota
		}
		if hc.CPUQuota > 0 {
			q := hc.CPUQuota
			r.CPU.Quota = &q
		}
		if hc.CPUPeriod > 0 {
			p := uint64(hc.CPUPeriod)
			r.CPU.Period = &p
		}
		if hc.CPUShares > 0 {
			sh := uint64(hc.CPUShares)
			r.CPU.Shares = &sh
		}
		r.CPU.Cpus = hc.CpusetCpus
		r.CPU.Mems = hc.CpusetMems
	}
	if hc.PidsLimit != nil && *hc.PidsLimit > 0 {
		l := *hc.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &l}
	}
}

// applyUlimits sets --ulimit values, refusing hard limits above the
// daemon's own: without CAP_SYS_RESOURCE nobody on this host can raise them.
func applyUlimits(s *specs.Spec, ulimits []*units.Ulimit) error {
	for _, u := range ulimits {
		if u == nil {
			continue
		}
		typ := "RLIMIT_" + strings.ToUpper(u.Name)
		if err := checkUlimit(u); err != nil {
			return err
		}
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: typ, Hard: uint64(u.Hard), Soft: uint64(u.Soft)})
	}
	return nil
}

// ociVersion is the spec version written into config.json: the newest that
// Debian 12's crun 1.8 and runc 1.1 both accept (crun refuses 1.1+ specs).
const ociVersion = "1.0.2"
