package mounts

import (
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/berth-dev/berth/engine/volumes"
)

// ToAPI renders mount points as inspect's "Mounts", in Docker's shape:
// binds show their propagation (rprivate by default), volumes their driver
// and folder, -v volumes the mode "z"; --tmpfs mounts are not listed (Docker
// shows them only in HostConfig.Tmpfs).
func ToAPI(mps []MountPoint, vols Volumes) []container.MountPoint {
	out := make([]container.MountPoint, 0, len(mps))
	for _, mp := range mps {
		m := container.MountPoint{
			Type:        mount.Type(mp.Type),
			Destination: mp.Destination,
			Mode:        mp.Mode,
			RW:          mp.RW,
		}
		switch mp.Type {
		case TypeBind:
			m.Source = mp.Source
			m.Propagation = mount.Propagation(mp.Propagation)
			if m.Propagation == "" {
				m.Propagation = mount.PropagationRPrivate
			}
		case TypeVolume:
			m.Name = mp.Name
			m.Driver = mp.Driver
			if m.Driver == "" {
				m.Driver = volumes.DriverLocal
			}
			m.Source = mp.Source
			if m.Source == "" && vols != nil {
				m.Source = vols.Path(mp.Name)
			}
			if m.Mode == "" && (mp.Origin == OriginBind || mp.Origin == OriginImage) {
				m.Mode = "z"
			}
		case TypeTmpfs:
			if mp.Origin == OriginTmpfs {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}
