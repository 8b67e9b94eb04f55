package api

import (
	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/containers"
	evengine "github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/volumes"
)

// The engine services that implement the backends, checked at compile time
// (the daemon's own adapters, SystemBackend and NetworkBackend, are checked
// in package daemon).
var (
	_ ContainerBackend    = (*containers.Service)(nil)
	_ ArchiveBackend      = (*containers.Service)(nil)
	_ CommitBackend       = (*containers.Service)(nil)
	_ DistributionBackend = (*images.Service)(nil)
	_ AuthBackend         = (*images.Service)(nil)
	_ VolumeBackend       = (*volumes.Service)(nil)
	_ BuildBackend        = (*build.Service)(nil)
	_ EventsBackend       = (*evengine.Service)(nil)
)
