package mounts

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"

	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// parseMount validates one --mount (HostConfig.Mounts entry), with Docker's
// messages.
func parseMount(m mount.Mount) (*MountPoint, error) {
	if m.Target == "" {
		return nil, cfgErr(m, "field Target must not be empty")
	}
	if err := validateDestination(m.Target); err != nil {
		return nil, errMountConfig(m.Type, err)
	}
	mp := &MountPoint{Destination: path.Clean(m.Target), RW: !m.ReadOnly, Origin: OriginMount}
	var err error
	switch m.Type {
	case mount.TypeBind:
		err = parseBindMount(mp, m)
	case mount.TypeVolume:
		err = parseVolumeMount(mp, m)
	case mount.TypeTmpfs:
		err = parseTmpfsMount(mp, m)
	case "":
		return nil, cfgErr(m, "mount type unknown")
	default:
		return nil, errdefs.Invalid("%v", cfgErr(m, "mount type unknown"))
	}
	if err != nil {
		return nil, err
	}
	return mp, nil
}

// cfgErr is Docker's "invalid mount config" error for m.
func cfgErr(m mount.Mount, msg string) error { return errMountConfig(m.Type, errors.New(msg)) }

// foreignOptions refuses options of a type other than m's own.
func foreignOptions(m mount.Mount) error {
	if m.BindOptions != nil && m.Type != mount.TypeBind {
		return cfgErr(m, "field BindOptions must not be specified")
	}
	if m.VolumeOptions != nil && m.Type != mount.TypeVolume {
		return cfgErr(m, "field VolumeOptions must not be specified")
	}
	if m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs {
		return cfgErr(m, "field TmpfsOptions must not be specified")
	}
	return nil
}

// parseBindMount checks a bind's source: absolute, existing (unless it is
// to be created) and not one of the engine's own folders.
func parseBindMount(mp *MountPoint, m mount.Mount) error {
	if m.Source == "" {
		return cfgErr(m, "field Source must not be empty")
	}
	if err := foreignOptions(m); err != nil {
		return err
	}
	if err := validateAbsolute(m.Source); err != nil {
		return errMountConfig(m.Type, err)
	}
	if m.BindOptions != nil && m.BindOptions.Propagation != "" && !propagationModes[string(m.BindOptions.Propagation)] {
		return errMountConfig(m.Type, fmt.Errorf("invalid propagation mode: %s", m.BindOptions.Propagation))
	}
	create := m.BindOptions != nil && m.BindOptions.CreateMountpoint
	if _, err := os.Stat(m.Source); err != nil && !create {
		return errMountConfig(m.Type, fmt.Errorf("bind source path does not exist: %s", m.Source))
	}
	if err := validateBindSource(m.Source); err != nil {
		return errMountConfig(m.Type, err)
	}
	mp.Type = TypeBind
	mp.Source = path.Clean(m.Source)
	mp.CreateSource = create
	if m.BindOptions != nil {
		mp.Propagation = string(m.BindOptions.Propagation)
	}
	return nil
}

// parseVolumeMount takes a named volume (an anonymous one without a
// source) of the local driver, the only one there is.
func parseVolumeMount(mp *MountPoint, m mount.Mount) error {
	if err := foreignOptions(m); err != nil {
		return err
	}
	if m.Source == "" && m.ReadOnly {
		return cfgErr(m, "must not set ReadOnly mode when using anonymous volumes")
	}
	mp.Type = TypeVolume
	mp.Driver = volumes.DriverLocal
	if vo := m.VolumeOptions; vo != nil {
		if vo.Subpath != "" {
			return cfgErr(m, "volume subpath is not supported")
		}
		mp.NoCopy = vo.NoCopy
		mp.VolumeLabels = maps.Clone(vo.Labels)
		if vo.DriverConfig != nil {
			if vo.DriverConfig.Name != "" && vo.DriverConfig.Name != volumes.DriverLocal {
				return errdefs.NotFound("error looking up volume plugin %s: plugin %q not found", vo.DriverConfig.Name, vo.DriverConfig.Name)
			}
			mp.VolumeOptions = maps.Clone(vo.DriverConfig.Options)
		}
	}
	if m.Source == "" {
		mp.Name = stringid.New()
		mp.Anonymous = true
		return nil
	}
	if err := volumes.ValidateName(m.Source); err != nil {
		return errMountConfig(m.Type, err)
	}
	mp.Name = m.Source
	return nil
}

func parseTmpfsMount(mp *MountPoint, m mount.Mount) error {
	if err := foreignOptions(m); err != nil {
		return err
	}
	if m.Source != "" {
		return cfgErr(m, "field Source must not be specified")
	}
	mp.Type = TypeTmpfs
	mp.TmpfsOptions = tmpfsOptionsString(m.TmpfsOptions, m.ReadOnly)
	return nil
}
