package mounts

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/protected"
	"github.com/berth-dev/berth/internal/stringid"
)

// errMountConfig is Docker's wrapper for a bad --mount (and -v) spec.
func errMountConfig(typ mount.Type, err error) error {
	return fmt.Errorf("invalid mount config for type %q: %v", string(typ), err)
}

func errInvalidSpec(raw string) error { return fmt.Errorf("invalid volume specification: '%s'", raw) }

func validateAbsolute(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("invalid mount path: '%s' mount path must be absolute", p)
	}
	return nil
}

var errDestinationRoot = errors.New("invalid specification: destination can't be '/'")

// procAllowed are the /proc files runc lets a bind mount cover (lxcfs-style).
var procAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/net/dev": true, "/proc/sys/kernel/ns_last_pid": true,
}

// validateDestination refuses "/", relative paths and destinations the
// runtime owns (/proc, as runc does).
func validateDestination(dst string) error {
	if err := validateAbsolute(dst); err != nil {
		return err
	}
	c := path.Clean(dst)
	if c == "/" {
		return errDestinationRoot
	}
	if (c == "/proc" || strings.HasPrefix(c, "/proc/")) && !procAllowed[c] {
		return fmt.Errorf("invalid specification: destination %s is inside /proc, which the runtime owns", c)
	}
	return nil
}

// ProtectPaths names host folders that no bind mount may expose (the
// engine's data-root and exec-root: its database, sockets, other
// containers' files). The daemon calls it once at start; volume devices
// are checked against the same list.
func ProtectPaths(paths ...string) { protected.Set(paths...) }

// validateBindSource refuses the engine's own folders (and anything in
// them) as bind sources; a parent of them ("/") stays allowed, as Docker.
func validateBindSource(src string) error {
	if err := protected.Check(src); err != nil {
		return fmt.Errorf("bind source path %w", err)
	}
	return nil
}

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

// tmpfsOptionsString renders --mount tmpfs options as mount options, as
// Docker: the size with the largest unit dividing it, the mode in octal.
func tmpfsOptionsString(o *mount.TmpfsOptions, ro bool) string {
	var opts []string
	if o != nil {
		if size := o.SizeBytes; size != 0 {
			suffix := ""
			for _, u := range []struct {
				s string
				d int64
			}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
				if size%u.d == 0 {
					size, suffix = size/u.d, u.s
					break
				}
			}
			opts = append(opts, fmt.Sprintf("size=%d%s", size, suffix))
		}
		if o.Mode != 0 {
			opts = append(opts, fmt.Sprintf("mode=%o", o.Mode))
		}
		for _, kv := range o.Options {
			opts = append(opts, strings.Join(kv, "="))
		}
	}
	if ro {
		opts = append(opts, "ro")
	}
	return strings.Join(opts, ",")
}

// tmpfsFlags are the --tmpfs option words that are mount flags.
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true, "dev": true, "nodev": true,
	"sync": true, "async": true, "atime": true, "noatime": true, "diratime": true, "nodiratime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true, "mand": true, "nomand": true,
	"dirsync": true, "remount": true, "private": true, "rprivate": true, "shared": true, "rshared": true,
	"slave": true, "rslave": true, "bind": false, "tmpcopyup": true, "notmpcopyup": true,
}

// validateTmpfsOptions checks a --tmpfs option list: flags and size=,
// mode=, uid=, gid=, nr_inodes=, nr_blocks=.
func validateTmpfsOptions(opts string) error {
	if opts == "" {
		return nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		if !hasValue {
			if !tmpfsFlags[k] {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
			continue
		}
		switch k {
		case "size":
			if strings.HasSuffix(v, "%") {
				if _, err := strconv.ParseUint(strings.TrimSuffix(v, "%"), 10, 8); err != nil {
					return fmt.Errorf("invalid tmpfs option %q", o)
				}
			} else if _, err := units.RAMInBytes(v); err != nil {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
		case "mode":
			if _, err := strconv.ParseUint(v, 8, 32); err != nil {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
		case "uid", "gid", "nr_inodes", "nr_blocks":
			if _, err := units.RAMInBytes(v); err != nil {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
		default:
			return fmt.Errorf("invalid tmpfs option %q", o)
		}
	}
	return nil
}

// parseVolumesFrom splits "container[:ro|rw]".
func parseVolumesFrom(spec string) (string, string, error) {
	if spec == "" {
		return "", "", fmt.Errorf("volumes-from specification cannot be an empty string")
	}
	parts := strings.Split(spec, ":")
	switch len(parts) {
	case 1:
		return parts[0], "", nil
	case 2:
		mode := parts[1]
		if !rwModes[mode] || parts[0] == "" {
			return "", "", fmt.Errorf("invalid mode: %v", mode)
		}
		return parts[0], mode, nil
	}
	return "", "", fmt.Errorf("malformed volumes-from specification: %q", spec)
}

// Parse validates a container's mounts at create time and returns its
// mount points, sorted by destination. Precedence is Docker's: volumes of
// --volumes-from first, overridden by -v; -v and --mount may not share a
// destination with each other or with --tmpfs ("Duplicate mount point");
// image VOLUMEs fill destinations nobody else took. Errors are
// errdefs.Invalid (400) with Docker's messages unless noted.
func Parse(binds []string, ms []mount.Mount, tmpfs map[string]string, imageVolumes map[string]struct{},
	volumesFrom []string, from func(ref string) ([]MountPoint, error)) ([]MountPoint, error) {
	set := mountSet{byDest: map[string]*MountPoint{}, explicit: map[string]bool{}}
	if err := set.addVolumesFrom(volumesFrom, from); err != nil {
		return nil, err
	}
	for _, raw := range binds {
		if err := set.addExplicit(parseBind(raw)); err != nil {
			return nil, err
		}
	}
	for _, m := range ms {
		if err := set.addExplicit(parseMount(m)); err != nil {
			return nil, err
		}
	}
	for dst, opts := range tmpfs {
		if err := set.addTmpfs(dst, opts); err != nil {
			return nil, err
		}
	}
	if err := set.addImageVolumes(imageVolumes); err != nil {
		return nil, err
	}
	out := make([]MountPoint, 0, len(set.byDest))
	for _, mp := range set.byDest {
		out = append(out, *mp)
	}
	sortMounts(out)
	return out, nil
}

// mountSet is a container's mount points by destination while Parse
// gathers them.
type mountSet struct {
	byDest   map[string]*MountPoint
	explicit map[string]bool // destinations set by -v, --mount or --tmpfs
}

// addVolumesFrom takes the mount points of the containers named by
// --volumes-from (container[:ro|rw]), tmpfs mounts excepted.
func (s *mountSet) addVolumesFrom(volumesFrom []string, from func(ref string) ([]MountPoint, error)) error {
	for _, spec := range volumesFrom {
		ref, mode, err := parseVolumesFrom(spec)
		if err != nil {
			return errdefs.Invalid("%v", err)
		}
		if from == nil {
			return errdefs.Invalid("--volumes-from is not supported here")
		}
		mps, err := from(ref)
		if err != nil {
			return err
		}
		for _, m := range mps {
			if m.Type == TypeTmpfs {
				continue
			}
			m.VolumeOptions = maps.Clone(m.VolumeOptions)
			if mode != "" {
				m.RW = mode == "rw"
			}
			// The volume belongs to the other container: never removed with this one.
			m.Anonymous = false
			m.Origin = OriginVolumesFrom
			mm := m
			s.byDest[m.Destination] = &mm
		}
	}
	return nil
}

// addExplicit takes one -v or --mount mount point: a parse error is a 400
// unless it already has a kind; two on one destination conflict.
func (s *mountSet) addExplicit(mp *MountPoint, err error) error {
	if err != nil {
		if errdefs.Classified(err) {
			return err
		}
		return errdefs.Invalid("%v", err)
	}
	if s.explicit[mp.Destination] {
		return errdefs.Invalid("Duplicate mount point: %s", mp.Destination)
	}
	s.explicit[mp.Destination] = true
	s.byDest[mp.Destination] = mp
	return nil
}

// addTmpfs takes one --tmpfs destination with its options.
func (s *mountSet) addTmpfs(dst, opts string) error {
	if err := validateDestination(dst); err != nil {
		return errdefs.Invalid("%v", err)
	}
	if err := validateTmpfsOptions(opts); err != nil {
		return errdefs.Invalid("%v", err)
	}
	d := path.Clean(dst)
	if s.explicit[d] {
		return errdefs.Invalid("Duplicate mount point: %s", d)
	}
	s.explicit[d] = true
	s.byDest[d] = &MountPoint{Type: TypeTmpfs, Destination: d, RW: !hasWord(opts, "ro"), TmpfsOptions: opts, Origin: OriginTmpfs}
	return nil
}

// addImageVolumes gives each image VOLUME nobody else took an anonymous
// volume.
func (s *mountSet) addImageVolumes(imageVolumes map[string]struct{}) error {
	for dst := range imageVolumes {
		if err := validateAbsolute(dst); err != nil {
			return errdefs.Invalid("invalid image VOLUME: %v", err)
		}
		d := path.Clean(dst)
		if d == "/" {
			return errdefs.Invalid("invalid image VOLUME: %v", errDestinationRoot)
		}
		if _, ok := s.byDest[d]; ok {
			continue
		}
		s.byDest[d] = &MountPoint{Type: TypeVolume, Name: stringid.New(), Destination: d, RW: true, Anonymous: true, Driver: volumes.DriverLocal, Origin: OriginImage}
	}
	return nil
}

func hasWord(opts, w string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == w {
			return true
		}
	}
	return false
}

// sortMounts orders parents before children (fewer path components first),
// then by destination, so a mount at /a/b lands on top of one at /a.
func sortMounts(mps []MountPoint) {
	sort.SliceStable(mps, func(i, j int) bool {
		di, dj := strings.Count(mps[i].Destination, "/"), strings.Count(mps[j].Destination, "/")
		if di != dj {
			return di < dj
		}
		return mps[i].Destination < mps[j].Destination
	})
}
