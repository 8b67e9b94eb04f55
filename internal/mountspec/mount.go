// Package mountspec parses the docker CLI's --mount flag into the API's
// mount.Mount. It is a leaf both the client and the daemon may import: it
// links no engine package, so the berth CLI stays free of the daemon's
// storage code. The daemon validates the resulting mount.Mount itself
// (engine/mounts.Parse), as dockerd does with what any client sends.
package mountspec

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
)

// ParseMount parses one `--mount` value the way the docker CLI does
// (CSV fields key=value; readonly/ro, volume-nocopy and bind-nonrecursive may
// stand alone), with its error messages. The daemon gets the resulting
// mount.Mount in HostConfig.Mounts.
func ParseMount(value string) (mount.Mount, error) {
	m := mount.Mount{Type: mount.TypeVolume}
	r := csv.NewReader(strings.NewReader(value))
	fields, err := r.Read()
	if err != nil {
		return m, err
	}
	bindOpts := func() *mount.BindOptions {
		if m.BindOptions == nil {
			m.BindOptions = &mount.BindOptions{}
		}
		return m.BindOptions
	}
	volOpts := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		return m.VolumeOptions
	}
	tmpfsOpts := func() *mount.TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &mount.TmpfsOptions{}
		}
		return m.TmpfsOptions
	}
	setKV := func(dst map[string]string, kv string) map[string]string {
		if dst == nil {
			dst = map[string]string{}
		}
		k, v, _ := strings.Cut(kv, "=")
		dst[k] = v
		return dst
	}
	for _, field := range fields {
		key, val, hasValue := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !hasValue {
			switch key {
			case "readonly", "ro":
				m.ReadOnly = true
			case "volume-nocopy":
				volOpts().NoCopy = true
			case "bind-nonrecursive":
				bindOpts().NonRecursive = true
			default:
				return m, fmt.Errorf("invalid field '%s' must be a key=value pair", field)
			}
			continue
		}
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
			if val == "." || strings.HasPrefix(val, "./") || strings.HasPrefix(val, "../") {
				if abs, err := filepath.Abs(val); err == nil {
					m.Source = abs
				}
			}
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			m.ReadOnly = b
		case "consistency":
			m.Consistency = mount.Consistency(strings.ToLower(val))
		case "bind-propagation":
			bindOpts().Propagation = mount.Propagation(strings.ToLower(val))
		case "bind-nonrecursive":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			bindOpts().NonRecursive = b
		case "bind-create-mountpoint":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			bindOpts().CreateMountpoint = b
		case "volume-nocopy":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for volume-nocopy: %s", val)
			}
			volOpts().NoCopy = b
		case "volume-label":
			volOpts().Labels = setKV(volOpts().Labels, val)
		case "volume-driver":
			if volOpts().DriverConfig == nil {
				volOpts().DriverConfig = &mount.Driver{}
			}
			volOpts().DriverConfig.Name = val
		case "volume-opt":
			if volOpts().DriverConfig == nil {
				volOpts().DriverConfig = &mount.Driver{}
			}
			volOpts().DriverConfig.Options = setKV(volOpts().DriverConfig.Options, val)
		case "volume-subpath":
			volOpts().Subpath = val
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			tmpfsOpts().SizeBytes = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			tmpfsOpts().Mode = os.FileMode(n)
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
	}
	if m.Target == "" {
		return m, errors.New("target is required")
	}
	if m.VolumeOptions != nil && m.Type != mount.TypeVolume {
		return m, fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type)
	}
	if m.BindOptions != nil && m.Type != mount.TypeBind {
		return m, fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", m.Type)
	}
	if m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs {
		return m, fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", m.Type)
	}
	return m, nil
}
