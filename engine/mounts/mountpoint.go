package mounts

// Types of mount point.
const (
	TypeBind   = "bind"
	TypeVolume = "volume"
	TypeTmpfs  = "tmpfs"
)

// Where a mount point came from; inspect shows all but --tmpfs ones (Docker
// keeps those in HostConfig.Tmpfs only).
const (
	OriginBind        = "bind"         // -v
	OriginMount       = "mount"        // --mount
	OriginTmpfs       = "tmpfs"        // --tmpfs
	OriginImage       = "image"        // the image's VOLUME
	OriginVolumesFrom = "volumes-from" // --volumes-from
)

// MountPoint is one mount of a container, as the container record keeps it.
type MountPoint struct {
	Type string // bind, volume or tmpfs
	// Name is the volume's name (volumes only; 64-hex for anonymous ones).
	Name string
	// Source is the host path: for binds as given, for volumes filled in by
	// Prepare with the volume's folder (empty before the first start).
	Source      string
	Destination string // absolute, cleaned, inside the container
	// Mode is what the user wrote after the last colon of -v ("ro", "z",
	// "ro,Z"...), shown by inspect.
	Mode        string
	RW          bool
	Propagation string // bind propagation: "" means rprivate for binds
	// Anonymous volumes are removed with the container (rm -v, run --rm).
	Anonymous bool
	// NoCopy turns off Docker's copy-up of the image's folder into a new
	// empty volume.
	NoCopy bool
	// TmpfsOptions are the tmpfs mount options ("size=64m,mode=1777"...).
	TmpfsOptions string
	// VolumeOptions and VolumeLabels apply when Prepare creates the volume
	// (--mount volume-opt=..., volume-label=...).
	VolumeOptions map[string]string
	VolumeLabels  map[string]string `json:",omitempty"`
	Driver        string            // volume driver ("local")
	// CreateSource makes Prepare create a missing bind source (-v does,
	// --mount does not).
	CreateSource bool   `json:",omitempty"`
	Origin       string `json:",omitempty"`
}
