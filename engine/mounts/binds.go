package mounts

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

func errInvalidSpec(raw string) error { return fmt.Errorf("invalid volume specification: '%s'", raw) }

// Mode words -v accepts after the last colon (Docker's linux parser).
var (
	rwModes          = map[string]bool{"rw": true, "ro": true}
	labelModes       = map[string]bool{"z": true, "Z": true}
	propagationModes = map[string]bool{"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true}
	copyModes        = map[string]bool{"nocopy": true}
	consistencyModes = map[string]bool{"consistent": true, "cached": true, "delegated": true}
)

// validMode checks a -v mode list: each kind at most once.
func validMode(mode string) bool {
	if mode == "" {
		return true
	}
	var rw, label, prop, cp, cons int
	for _, o := range strings.Split(mode, ",") {
		switch {
		case rwModes[o]:
			rw++
		case labelModes[o]:
			label++
		case propagationModes[o]:
			prop++
		case copyModes[o]:
			cp++
		case consistencyModes[o]:
			cons++
		default:
			return false
		}
	}
	return rw <= 1 && label <= 1 && prop <= 1 && cp <= 1 && cons <= 1
}

func modeHas(mode string, set map[string]bool) string {
	for _, o := range strings.Split(mode, ",") {
		if set[o] {
			return o
		}
	}
	return ""
}

// parseBind parses one -v spec: name:/p[:mode], /host:/p[:mode] or /p.
func parseBind(raw string) (*MountPoint, error) {
	arr := strings.Split(raw, ":")
	if len(arr) == 0 || arr[0] == "" {
		return nil, errInvalidSpec(raw)
	}
	mp := &MountPoint{RW: true, Origin: OriginBind}
	var src, mode string
	switch len(arr) {
	case 1:
		mp.Destination = arr[0]
	case 2:
		if validMode(arr[1]) {
			// "/foo:rw": a destination with a mode is not a volume.
			return nil, errInvalidSpec(raw)
		}
		src, mp.Destination = arr[0], arr[1]
	case 3:
		src, mp.Destination, mode = arr[0], arr[1], arr[2]
	default:
		return nil, errInvalidSpec(raw)
	}
	if !validMode(mode) {
		return nil, fmt.Errorf("invalid mode: %v", mode)
	}
	mp.Mode = mode
	mp.RW = modeHas(mode, rwModes) != "ro"
	typ := mount.TypeVolume
	if path.IsAbs(src) {
		typ = mount.TypeBind
	}
	wrap := func(err error) error { return fmt.Errorf("%v: %v", errInvalidSpec(raw), errMountConfig(typ, err)) }
	if mp.Destination == "" {
		return nil, wrap(errors.New("field Target must not be empty"))
	}
	if err := validateDestination(mp.Destination); err != nil {
		return nil, wrap(err)
	}
	mp.Destination = path.Clean(mp.Destination)
	if typ == mount.TypeBind {
		if modeHas(mode, copyModes) != "" {
			return nil, wrap(errors.New("field VolumeOptions must not be specified"))
		}
		if err := validateBindSource(src); err != nil {
			return nil, wrap(err)
		}
		mp.Type = TypeBind
		mp.Source = path.Clean(src)
		mp.Propagation = modeHas(mode, propagationModes)
		mp.CreateSource = true
		return mp, nil
	}
	if modeHas(mode, propagationModes) != "" {
		return nil, wrap(errors.New("field BindOptions must not be specified"))
	}
	mp.Type = TypeVolume
	mp.Driver = volumes.DriverLocal
	mp.NoCopy = modeHas(mode, copyModes) != ""
	if src == "" {
		mp.Name = stringid.New()
		mp.Anonymous = true
	} else {
		if err := volumes.ValidateName(src); err != nil {
			return nil, errdefs.Invalid("create %s: %v", src, err)
		}
		mp.Name = src
	}
	return mp, nil
}
