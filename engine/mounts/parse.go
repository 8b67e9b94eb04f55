package mounts

import (
	"fmt"
	"maps"
	"path"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

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
