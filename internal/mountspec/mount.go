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
	for _, field := range fields {
		key, val, hasValue := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if hasValue {
			err = setField(&m, key, val, field)
		} else {
			err = setFlag(&m, key, field)
		}
		if err != nil {
			return m, err
		}
	}
	return m, checkMount(m)
}

// setFlag applies a field given without a value.
func setFlag(m *mount.Mount, key, field string) error {
	switch key {
	case "readonly", "ro":
		m.ReadOnly = true
	case "volume-nocopy":
		volOpts(m).NoCopy = true
	case "bind-nonrecursive":
		bindOpts(m).NonRecursive = true
	default:
		return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
	}
	return nil
}

// setField applies a key=value field: the type's own options (bind-*,
// volume-*, tmpfs-*) or one common to all types.
func setField(m *mount.Mount, key, val, field string) error {
	switch {
	case strings.HasPrefix(key, "bind-"):
		return setBindField(m, key, val, field)
	case strings.HasPrefix(key, "volume-"):
		return setVolumeField(m, key, val, field)
	case strings.HasPrefix(key, "tmpfs-"):
		return setTmpfsField(m, key, val, field)
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
		b, err := parseBool(key, val)
		if err != nil {
			return err
		}
		m.ReadOnly = b
	case "consistency":
		m.Consistency = mount.Consistency(strings.ToLower(val))
	default:
		return errUnexpected(key, field)
	}
	return nil
}

func setBindField(m *mount.Mount, key, val, field string) error {
	switch key {
	case "bind-propagation":
		bindOpts(m).Propagation = mount.Propagation(strings.ToLower(val))
	case "bind-nonrecursive", "bind-create-mountpoint":
		b, err := parseBool(key, val)
		if err != nil {
			return err
		}
		if key == "bind-nonrecursive" {
			bindOpts(m).NonRecursive = b
		} else {
			bindOpts(m).CreateMountpoint = b
		}
	default:
		return errUnexpected(key, field)
	}
	return nil
}

func setVolumeField(m *mount.Mount, key, val, field string) error {
	switch key {
	case "volume-nocopy":
		b, err := parseBool(key, val)
		if err != nil {
			return err
		}
		volOpts(m).NoCopy = b
	case "volume-label":
		volOpts(m).Labels = setKV(volOpts(m).Labels, val)
	case "volume-driver":
		driver(volOpts(m)).Name = val
	case "volume-opt":
		d := driver(volOpts(m))
		d.Options = setKV(d.Options, val)
	case "volume-subpath":
		volOpts(m).Subpath = val
	default:
		return errUnexpected(key, field)
	}
	return nil
}

func setTmpfsField(m *mount.Mount, key, val, field string) error {
	switch key {
	case "tmpfs-size":
		n, err := units.RAMInBytes(val)
		if err != nil {
			return errValue(key, val)
		}
		tmpfsOpts(m).SizeBytes = n
	case "tmpfs-mode":
		n, err := strconv.ParseUint(val, 8, 32)
		if err != nil {
			return errValue(key, val)
		}
		tmpfsOpts(m).Mode = os.FileMode(n)
	default:
		return errUnexpected(key, field)
	}
	return nil
}

// checkMount checks what needs all fields: a target, and options only of
// the mount's own type.
func checkMount(m mount.Mount) error {
	if m.Target == "" {
		return errors.New("target is required")
	}
	if m.VolumeOptions != nil && m.Type != mount.TypeVolume {
		return fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type)
	}
	if m.BindOptions != nil && m.Type != mount.TypeBind {
		return fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", m.Type)
	}
	if m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs {
		return fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", m.Type)
	}
	return nil
}

func errUnexpected(key, field string) error {
	return fmt.Errorf("unexpected key '%s' in '%s'", key, field)
}

func errValue(key, val string) error { return fmt.Errorf("invalid value for %s: %s", key, val) }

func parseBool(key, val string) (bool, error) {
	b, err := strconv.ParseBool(val)
	if err != nil {
		return false, errValue(key, val)
	}
	return b, nil
}

// bindOpts, volOpts and tmpfsOpts return the mount's options of that type,
// created on first use (their presence is what checkMount checks).
func bindOpts(m *mount.Mount) *mount.BindOptions {
	if m.BindOptions == nil {
		m.BindOptions = &mount.BindOptions{}
	}
	return m.BindOptions
}

func volOpts(m *mount.Mount) *mount.VolumeOptions {
	if m.VolumeOptions == nil {
		m.VolumeOptions = &mount.VolumeOptions{}
	}
	return m.VolumeOptions
}

func tmpfsOpts(m *mount.Mount) *mount.TmpfsOptions {
	if m.TmpfsOptions == nil {
		m.TmpfsOptions = &mount.TmpfsOptions{}
	}
	return m.TmpfsOptions
}

func driver(vo *mount.VolumeOptions) *mount.Driver {
	if vo.DriverConfig == nil {
		vo.DriverConfig = &mount.Driver{}
	}
	return vo.DriverConfig
}

// setKV sets key=value (value "" without "=") in dst, made if nil.
func setKV(dst map[string]string, kv string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	k, v, _ := strings.Cut(kv, "=")
	dst[k] = v
	return dst
}
