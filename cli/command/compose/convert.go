package compose

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
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
	"tmpfs": true, "domainname": true,
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
	switch s.PullPolicy {
	case "", types.PullPolicyMissing, types.PullPolicyAlways, types.PullPolicyNever, types.PullPolicyIfNotPresent:
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

// createOptions builds the API request for container number of service s.
func createOptions(p *types.Project, s types.ServiceConfig, number int, hash string) (client.ContainerCreateOptions, error) {
	name := containerName(p.Name, s, number)
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	for k, v := range s.CustomLabels {
		labels[k] = v
	}
	labels[labelConfigHash] = hash
	labels[labelNumber] = strconv.Itoa(number)
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
	if hc := s.HealthCheck; hc != nil {
		h := &container.HealthConfig{Test: []string(hc.Test)}
		if hc.Disable {
			h.Test = []string{"NONE"}
		}
		if hc.Interval != nil {
			h.Interval = time.Duration(*hc.Interval)
		}
		if hc.Timeout != nil {
			h.Timeout = time.Duration(*hc.Timeout)
		}
		if hc.StartPeriod != nil {
			h.StartPeriod = time.Duration(*hc.StartPeriod)
		}
		if hc.StartInterval != nil {
			h.StartInterval = time.Duration(*hc.StartInterval)
		}
		if hc.Retries != nil {
			h.Retries = int(*hc.Retries)
		}
		cfg.Healthcheck = h
	}

	hc := &container.HostConfig{
		CapAdd:         s.CapAdd,
		CapDrop:        s.CapDrop,
		Privileged:     s.Privileged,
		ReadonlyRootfs: s.ReadOnly,
		Sysctls:        s.Sysctls,
		Init:           s.Init,
		PortBindings:   network.PortMap{},
	}
	for _, h := range s.ExtraHosts.AsList(":") {
		hc.ExtraHosts = append(hc.ExtraHosts, h)
	}
	for _, d := range s.DNS {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("service %q: invalid dns %q", s.Name, d)
		}
		hc.DNS = append(hc.DNS, a)
	}
	rp, err := restartPolicy(s.Restart)
	if err != nil {
		return client.ContainerCreateOptions{}, fmt.Errorf("service %q: %w", s.Name, err)
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
	for _, e := range s.Expose {
		port, err := network.ParsePort(e)
		if err != nil {
			return client.ContainerCreateOptions{}, fmt.Errorf("service %q: invalid expose %q: %w", s.Name, e, err)
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
			return client.ContainerCreateOptions{}, fmt.Errorf("service %q: invalid port: %w", s.Name, err)
		}
		cfg.ExposedPorts[port] = struct{}{}
		b := network.PortBinding{HostPort: pc.Published}
		if pc.HostIP != "" {
			a, err := netip.ParseAddr(pc.HostIP)
			if err != nil {
				return client.ContainerCreateOptions{}, fmt.Errorf("service %q: invalid host_ip %q", s.Name, pc.HostIP)
			}
			b.HostIP = a
		}
		hc.PortBindings[port] = append(hc.PortBindings[port], b)
	}
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			bind := v.Source + ":" + v.Target
			if v.ReadOnly {
				bind += ":ro"
			}
			if v.Bind != nil && !v.Bind.CreateHostPath {
				m := mount.Mount{Type: mount.TypeBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
				hc.Mounts = append(hc.Mounts, m)
				continue
			}
			hc.Binds = append(hc.Binds, bind)
		case types.VolumeTypeVolume:
			m := mount.Mount{Type: mount.TypeVolume, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Source != "" {
				vol, ok := p.Volumes[v.Source]
				if !ok {
					return client.ContainerCreateOptions{}, fmt.Errorf("service %q refers to undefined volume %s: invalid compose project", s.Name, v.Source)
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

	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	if s.NetworkMode != "" {
		hc.NetworkMode = container.NetworkMode(s.NetworkMode)
	} else {
		first := ""
		for _, key := range s.NetworksByPriority() {
			n, ok := p.Networks[key]
			if !ok {
				return client.ContainerCreateOptions{}, fmt.Errorf("service %q refers to undefined network %s: invalid compose project", s.Name, key)
			}
			if first == "" {
				first = n.Name
			}
			ep := &network.EndpointSettings{Aliases: []string{name, s.Name}}
			if sn := s.Networks[key]; sn != nil {
				ep.Aliases = append(ep.Aliases, sn.Aliases...)
				if sn.Ipv4Address != "" || sn.Ipv6Address != "" {
					ep.IPAMConfig = &network.EndpointIPAMConfig{}
					if sn.Ipv4Address != "" {
						a, err := netip.ParseAddr(sn.Ipv4Address)
						if err != nil {
							return client.ContainerCreateOptions{}, fmt.Errorf("service %q: invalid ipv4_address %q", s.Name, sn.Ipv4Address)
						}
						ep.IPAMConfig.IPv4Address = a
					}
					if sn.Ipv6Address != "" {
						a, err := netip.ParseAddr(sn.Ipv6Address)
						if err != nil {
							return client.ContainerCreateOptions{}, fmt.Errorf("service %q: invalid ipv6_address %q", s.Name, sn.Ipv6Address)
						}
						ep.IPAMConfig.IPv6Address = a
					}
				}
			}
			nc.EndpointsConfig[n.Name] = ep
		}
		if first != "" {
			hc.NetworkMode = container.NetworkMode(first)
		}
	}
	return client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc, NetworkingConfig: nc}, nil
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
