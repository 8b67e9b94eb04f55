package opts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/term"
)

// ParseRestartPolicy parses --restart: no, always, unless-stopped,
// on-failure[:max-retries].
func ParseRestartPolicy(policy string) (container.RestartPolicy, error) {
	p := container.RestartPolicy{}
	if policy == "" {
		return p, nil
	}
	name, count, hasCount := strings.Cut(policy, ":")
	if name == "" {
		return p, fmt.Errorf("invalid restart policy format: no policy provided before colon")
	}
	p.Name = container.RestartPolicyMode(name)
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil {
			return p, fmt.Errorf("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	return p, container.ValidateRestartPolicy(p)
}

// ParseUlimits parses --ulimit name=soft[:hard].
func ParseUlimits(values []string) ([]*container.Ulimit, error) {
	var out []*container.Ulimit
	for _, v := range values {
		u, err := units.ParseUlimit(v)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// ParseDevice parses --device host[:container[:permissions]].
func ParseDevice(v string) (container.DeviceMapping, error) {
	parts := strings.Split(v, ":")
	d := container.DeviceMapping{CgroupPermissions: "rwm"}
	switch len(parts) {
	case 3:
		if !validDeviceMode(parts[2]) {
			return d, fmt.Errorf("invalid device mode: %s", parts[2])
		}
		d.CgroupPermissions = parts[2]
		fallthrough
	case 2:
		if validDeviceMode(parts[1]) && len(parts) == 2 {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
		fallthrough
	case 1:
		d.PathOnHost = parts[0]
	default:
		return d, fmt.Errorf("invalid device specification: %s", v)
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	return d, nil
}

func validDeviceMode(m string) bool {
	if m == "" || len(m) > 3 {
		return false
	}
	for _, c := range m {
		if c != 'r' && c != 'w' && c != 'm' {
			return false
		}
	}
	return true
}

// ParseTmpfs parses --tmpfs /path[:options] into HostConfig.Tmpfs entries.
func ParseTmpfs(values []string) map[string]string {
	if len(values) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, v := range values {
		path, o, _ := strings.Cut(v, ":")
		m[path] = o
	}
	return m
}

// ParseFilters parses repeated --filter key=value flags.
func ParseFilters(values []string) (client.Filters, error) {
	f := client.Filters{}
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		f.Add(strings.ToLower(strings.TrimSpace(k)), val)
	}
	return f, nil
}

// ValidateDetachKeys checks a --detach-keys value ("ctrl-p,ctrl-q").
func ValidateDetachKeys(keys string) error {
	if keys == "" {
		return nil
	}
	_, err := term.ToBytes(keys)
	return err
}

// ParseCPUs parses --cpus ("1.5") into NanoCPUs.
func ParseCPUs(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid argument %q for \"--cpus\" flag: failed to parse %v as a rational number", v, v)
	}
	return int64(f * 1e9), nil
}

// ParseBytes parses a memory-style size ("512m", "1g", "-1").
func ParseBytes(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if v == "-1" {
		return -1, nil
	}
	return units.RAMInBytes(v)
}
