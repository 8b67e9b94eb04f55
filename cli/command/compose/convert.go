package compose

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// supportedKeys are the service attributes berth compose turns into
// container configuration. A service using any other attribute is refused
// before anything is created: an option is never silently ignored.
var supportedKeys = map[string]bool{
	"name": true, "image": true, "command": true, "entrypoint": true, "environment": true,
	"labels": true, "working_dir": true, "user": true, "hostname": true, "tty": true,
	"stdin_open": true, "ports": true, "volumes": true, "networks": true, "restart": true,
	"healthcheck": true, "init": true, "cap_add": true, "cap_drop": true, "extra_hosts": true,
	"dns": true, "sysctls": true, "stop_signal": true, "stop_grace_period": true,
	"privileged": true, "read_only": true, "depends_on": true, "scale": true,
	"deploy": true, "pull_policy": true, "container_name": true, "expose": true,
	"profiles": true, "env_file": true, "mem_limit": true, "cpus": true, "pids_limit": true,
	"tmpfs": true, "domainname": true, "build": true, "secrets": true, "configs": true,
	"volumes_from": true, "logging": true, "ulimits": true, "devices": true, "ipc": true,
}

// checkSupported refuses services using attributes berth compose cannot
// honour yet, naming them.
func checkSupported(s types.ServiceConfig) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	var bad []string
	for k := range m {
		if !supportedKeys[k] {
			bad = append(bad, k)
		}
	}
	if s.Build != nil {
		bad = append(bad, checkBuild(s.Build)...)
	} else if s.PullPolicy == types.PullPolicyBuild {
		bad = append(bad, "pull_policy build without a build section")
	}
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		d.Resources.Limits = nil
		if !isZeroJSON(d) {
			bad = append(bad, "deploy (other than replicas and resources.limits)")
		}
		if l := s.Deploy.Resources.Limits; l != nil && (len(l.GenericResources) > 0 || len(l.Devices) > 0) {
			bad = append(bad, "deploy.resources.limits devices")
		}
	}
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind && v.Type != types.VolumeTypeVolume && v.Type != types.VolumeTypeTmpfs {
			bad = append(bad, "volumes type "+v.Type)
		}
	}
	switch s.Ipc {
	case "", "host", "private", "shareable":
	default:
		// berthd gives each container a private IPC namespace or the
		// host's; it cannot join another container's yet.
		bad = append(bad, "ipc "+s.Ipc)
	}
	switch s.PullPolicy {
	case "", types.PullPolicyMissing, types.PullPolicyAlways, types.PullPolicyNever, types.PullPolicyIfNotPresent, types.PullPolicyBuild:
	default:
		bad = append(bad, "pull_policy "+s.PullPolicy)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("service %q: berth compose does not support %s yet", s.Name, strings.Join(bad, ", "))
	}
	return nil
}

func isZeroJSON(v any) bool {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, x := range m {
		if x != nil && fmt.Sprint(x) != "map[]" {
			return false
		}
	}
	return true
}

// createOptions builds the API request for container number of service s;
// number 0 is a one-off `run` container (named by s.ContainerName).
func createOptions(p *types.Project, s types.ServiceConfig, number int, hash string) (client.ContainerCreateOptions, error) {
	name := containerName(p.Name, s, number)
	cfg := serviceConfig(s, number, hash)
	cfg.Image = imageName(p, s)
	hc, err := serviceHostConfig(s)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	if err := serviceExtras(p, s, hc); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	if err := servicePorts(s, cfg, hc); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	if err := serviceMounts(p, s, hc); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	nc, err := serviceNetworks(p, s, name, hc)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	return client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc, NetworkingConfig: nc}, nil
}

// serviceConfig is the container's own settings: image, process,
// environment, labels (compose's own with them), stop and health.
func serviceConfig(s types.ServiceConfig, number int, hash string) *container.Config {
	labels := map[string]string{}
	maps.Copy(labels, s.Labels)
	maps.Copy(labels, s.CustomLabels)
	labels[labelConfigHash] = hash
	if number > 0 { // one-off (run) containers are not numbered
		labels[labelNumber] = strconv.Itoa(number)
	}
	labels[labelDependsOn] = dependsOnLabel(s)

	var env []string
	for k, v := range s.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	sort.Strings(env)

	cfg := &container.Config{
		Image:        s.Image,
		Hostname:     s.Hostname,
		Domainname:   s.DomainName,
		User:         s.User,
		Env:          env,
		Cmd:          []string(s.Command),
		Entrypoint:   []string(s.Entrypoint),
		WorkingDir:   s.WorkingDir,
		Labels:       labels,
		Tty:          s.Tty,
		OpenStdin:    s.StdinOpen,
		StopSignal:   s.StopSignal,
		ExposedPorts: network.PortSet{},
	}
	if s.StopGracePeriod != nil {
		t := int(time.Duration(*s.StopGracePeriod).Seconds())
		cfg.StopTimeout = &t
	}
	if s.HealthCheck != nil {
		cfg.Healthcheck = healthConfig(s.HealthCheck)
	}
	return cfg
}

// healthConfig is the service's healthcheck in the API's terms.
func healthConfig(hc *types.HealthCheckConfig) *container.HealthConfig {
	h := &container.HealthConfig{Test: []string(hc.Test)}
	if hc.Disable {
		h.Test = []string{"NONE"}
	}
	for _, d := range []struct {
		src *types.Duration
		dst *time.Duration
	}{{hc.Interval, &h.Interval}, {hc.Timeout, &h.Timeout}, {hc.StartPeriod, &h.StartPeriod}, {hc.StartInterval, &h.StartInterval}} {
		if d.src != nil {
			*d.dst = time.Duration(*d.src)
		}
	}
	if hc.Retries != nil {
		h.Retries = int(*hc.Retries)
	}
	return h
}

// serviceHostConfig is what the host applies: capabilities, DNS and
// hosts, restart policy, resources (deploy limits win) and tmpfs.
func serviceHostConfig(s types.ServiceConfig) (*container.HostConfig, error) {
	hc := &container.HostConfig{
		CapAdd:         s.CapAdd,
		CapDrop:        s.CapDrop,
		Privileged:     s.Privileged,
		ReadonlyRootfs: s.ReadOnly,
		Sysctls:        s.Sysctls,
		Init:           s.Init,
		PortBindings:   network.PortMap{},
	}
	if hosts := s.ExtraHosts.AsList(":"); len(hosts) > 0 {
		hc.ExtraHosts = hosts
	}
	for _, d := range s.DNS {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("service %q: invalid dns %q", s.Name, d)
		}
		hc.DNS = append(hc.DNS, a)
	}
	rp, err := restartPolicy(s.Restart)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", s.Name, err)
	}
	hc.RestartPolicy = rp
	hc.Memory = int64(s.MemLimit)
	if s.CPUS > 0 {
		hc.NanoCPUs = int64(s.CPUS * 1e9)
	}
	if s.PidsLimit != 0 {
		pl := s.PidsLimit
		hc.PidsLimit = &pl
	}
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		l := s.Deploy.Resources.Limits
		if l.MemoryBytes > 0 {
			hc.Memory = int64(l.MemoryBytes)
		}
		if l.NanoCPUs > 0 {
			hc.NanoCPUs = int64(l.NanoCPUs * 1e9)
		}
		if l.Pids > 0 {
			pl := l.Pids
			hc.PidsLimit = &pl
		}
	}
	if len(s.Tmpfs) > 0 {
		hc.Tmpfs = map[string]string{}
		for _, t := range s.Tmpfs {
			path, opts, _ := strings.Cut(t, ":")
			hc.Tmpfs[path] = opts
		}
	}
	return hc, nil
}

// servicePorts adds expose and ports: exposed ports to cfg, published ones
// to hc.
func servicePorts(s types.ServiceConfig, cfg *container.Config, hc *container.HostConfig) error {
	for _, e := range s.Expose {
		port, err := network.ParsePort(e)
		if err != nil {
			return fmt.Errorf("service %q: invalid expose %q: %w", s.Name, e, err)
		}
		cfg.ExposedPorts[port] = struct{}{}
	}
	for _, pc := range s.Ports {
		proto := pc.Protocol
		if proto == "" {
			proto = "tcp"
		}
		port, err := network.ParsePort(fmt.Sprintf("%d/%s", pc.Target, proto))
		if err != nil {
			return fmt.Errorf("service %q: invalid port: %w", s.Name, err)
		}
		cfg.ExposedPorts[port] = struct{}{}
		b := network.PortBinding{HostPort: pc.Published}
		if pc.HostIP != "" {
			a, err := netip.ParseAddr(pc.HostIP)
			if err != nil {
				return fmt.Errorf("service %q: invalid host_ip %q", s.Name, pc.HostIP)
			}
			b.HostIP = a
		}
		hc.PortBindings[port] = append(hc.PortBindings[port], b)
	}
	return nil
}

// serviceMounts adds the service's volumes: binds (as --mount when the
// host path must not be created), the project's named volumes and tmpfs.
func serviceMounts(p *types.Project, s types.ServiceConfig, hc *container.HostConfig) error {
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			if v.Bind != nil && !v.Bind.CreateHostPath {
				hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly})
				continue
			}
			bind := v.Source + ":" + v.Target
			if v.ReadOnly {
				bind += ":ro"
			}
			hc.Binds = append(hc.Binds, bind)
		case types.VolumeTypeVolume:
			m := mount.Mount{Type: mount.TypeVolume, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Source != "" {
				vol, ok := p.Volumes[v.Source]
				if !ok {
					return fmt.Errorf("service %q refers to undefined volume %s: invalid compose project", s.Name, v.Source)
				}
				m.Source = vol.Name
			}
			if v.Volume != nil && v.Volume.NoCopy {
				m.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
			}
			hc.Mounts = append(hc.Mounts, m)
		case types.VolumeTypeTmpfs:
			m := mount.Mount{Type: mount.TypeTmpfs, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Tmpfs != nil && v.Tmpfs.Size > 0 {
				m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size)}
			}
			hc.Mounts = append(hc.Mounts, m)
		}
	}
	return nil
}

// serviceNetworks is network_mode, or the endpoints on the service's
// networks by priority (the first one is the network mode), each with the
// container's and the service's names as aliases.
func serviceNetworks(p *types.Project, s types.ServiceConfig, name string, hc *container.HostConfig) (*network.NetworkingConfig, error) {
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	if s.NetworkMode != "" {
		hc.NetworkMode = container.NetworkMode(s.NetworkMode)
		return nc, nil
	}
	first := ""
	for _, key := range s.NetworksByPriority() {
		n, ok := p.Networks[key]
		if !ok {
			return nil, fmt.Errorf("service %q refers to undefined network %s: invalid compose project", s.Name, key)
		}
		if first == "" {
			first = n.Name
		}
		ep := &network.EndpointSettings{Aliases: []string{name}}
		oneoff := s.CustomLabels[labelOneoff] == "True"
		if !oneoff { // one-off containers answer to their own name only
			ep.Aliases = append(ep.Aliases, s.Name)
		}
		if sn := s.Networks[key]; sn != nil {
			if !oneoff {
				ep.Aliases = append(ep.Aliases, sn.Aliases...)
			}
			ipam, bad, is6 := opts.EndpointIPAM(sn.Ipv4Address, sn.Ipv6Address)
			if bad != "" {
				field := "ipv4_address"
				if is6 {
					field = "ipv6_address"
				}
				return nil, fmt.Errorf("service %q: invalid %s %q", s.Name, field, bad)
			}
			ep.IPAMConfig = ipam
		}
		nc.EndpointsConfig[n.Name] = ep
	}
	if first != "" {
		hc.NetworkMode = container.NetworkMode(first)
	}
	return nc, nil
}

// serviceExtras applies secrets, configs, volumes_from, ipc, logging,
// ulimits and devices.
func serviceExtras(p *types.Project, s types.ServiceConfig, hc *container.HostConfig) error {
	files, err := fileMounts(p, s)
	if err != nil {
		return err
	}
	hc.Mounts = append(hc.Mounts, files...)
	hc.VolumesFrom = s.VolumesFrom
	hc.IpcMode = container.IpcMode(s.Ipc)
	if s.Logging != nil {
		hc.LogConfig = container.LogConfig{Type: s.Logging.Driver, Config: s.Logging.Options}
	}
	for _, name := range sortedKeys(s.Ulimits) {
		u := s.Ulimits[name]
		soft, hard := int64(u.Soft), int64(u.Hard)
		if u.Single != 0 {
			soft, hard = int64(u.Single), int64(u.Single)
		}
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: name, Soft: soft, Hard: hard})
	}
	for _, d := range s.Devices {
		perms := d.Permissions
		if perms == "" {
			perms = "rwm"
		}
		target := d.Target
		if target == "" {
			target = d.Source
		}
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.Source, PathInContainer: target, CgroupPermissions: perms})
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func restartPolicy(r string) (container.RestartPolicy, error) {
	name, count, _ := strings.Cut(r, ":")
	switch name {
	case "", "no":
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}, nil
	case "always", "unless-stopped":
		return container.RestartPolicy{Name: container.RestartPolicyMode(name)}, nil
	case "on-failure":
		rp := container.RestartPolicy{Name: container.RestartPolicyOnFailure}
		if count != "" {
			n, err := strconv.Atoi(count)
			if err != nil {
				return rp, fmt.Errorf("invalid restart policy %q", r)
			}
			rp.MaximumRetryCount = n
		}
		return rp, nil
	}
	return container.RestartPolicy{}, fmt.Errorf("invalid restart policy %q", r)
}

func convertIPAM(i types.IPAMConfig) (*network.IPAM, error) {
	out := &network.IPAM{Driver: i.Driver, Options: i.Options}
	for _, pool := range i.Config {
		var cfg network.IPAMConfig
		if pool.Subnet != "" {
			pfx, err := netip.ParsePrefix(pool.Subnet)
			if err != nil {
				return nil, fmt.Errorf("invalid subnet %q", pool.Subnet)
			}
			cfg.Subnet = pfx
		}
		if pool.Gateway != "" {
			a, err := netip.ParseAddr(pool.Gateway)
			if err != nil {
				return nil, fmt.Errorf("invalid gateway %q", pool.Gateway)
			}
			cfg.Gateway = a
		}
		if pool.IPRange != "" {
			pfx, err := netip.ParsePrefix(pool.IPRange)
			if err != nil {
				return nil, fmt.Errorf("invalid ip_range %q", pool.IPRange)
			}
			cfg.IPRange = pfx
		}
		if len(pool.AuxiliaryAddresses) > 0 {
			return nil, fmt.Errorf("berth compose does not support ipam aux_addresses yet")
		}
		out.Config = append(out.Config, cfg)
	}
	return out, nil
}
