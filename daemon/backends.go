package daemon

import (
	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/engine/userns"
	"github.com/berth-dev/berth/engine/volumes"
)

// The services berthd wires together satisfy the interfaces their
// consumers declare: the API's backends, what the container service needs
// of the others and they of it, and what pull/push, save/load/import and
// commit need of the image database and the layer store.
var (
	_ api.ContainerBackend    = (*containers.Service)(nil)
	_ api.CommitBackend       = (*containers.Service)(nil)
	_ api.ArchiveBackend      = (*containers.Service)(nil)
	_ api.ImageBackend        = imageBackend{}
	_ api.AuthBackend         = (*distribution.Service)(nil)
	_ api.DistributionBackend = (*distribution.Service)(nil)
	_ api.SystemBackend       = (*Daemon)(nil)
	_ api.EventsBackend       = (*events.Service)(nil)
	_ api.NetworkBackend      = netBackend{}
	_ api.VolumeBackend       = (*volumes.Service)(nil)
	_ api.BuildBackend        = (*build.Service)(nil)
	_ api.BuildKitBackend     = (*buildkit.Service)(nil)
	_ buildkit.ImageStore     = buildkitImages{}

	_ containers.Networks     = (*network.Service)(nil)
	_ containers.Volumes      = (*volumes.Service)(nil)
	_ containers.Runtimes     = (*runtime.Set)(nil)
	_ containers.Events       = (*events.Service)(nil)
	_ containers.ImageService = (*images.Service)(nil)
	_ containers.Committer    = (*commit.Service)(nil)
	_ containers.Remap        = (*userns.Remap)(nil)

	_ images.ContainerUsage = (*containers.Service)(nil)
	_ volumes.Usage         = (*containers.Service)(nil)

	_ distribution.ImageStore = (*images.Service)(nil)
	_ distribution.LayerStore = (*snapshots.Store)(nil)
	_ imagearchive.ImageStore = (*images.Service)(nil)
	_ imagearchive.LayerStore = (*snapshots.Store)(nil)
	_ commit.Images           = (*images.Service)(nil)
	_ commit.Layers           = (*snapshots.Store)(nil)
)
