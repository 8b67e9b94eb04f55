package containers

import (
	"context"
	"net/netip"

	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/mounts"
	netpkg "github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/store"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
)

// What the container service needs of the services around it, declared
// here where it is used; the daemon passes *network.Service,
// *volumes.Service, *runtime.Set and *events.Service (checked at compile
// time in daemon/backends.go).

// Networks is what containers need of the network service: a container's
// attachments, made at start and undone at exit.
type Networks interface {
	// ConnectDeferred connects a container, leaving the commit of the
	// sandbox's record to the caller's commit.
	ConnectDeferred(ctx context.Context, req netpkg.ConnectRequest) (*netpkg.Attachment, store.Op, error)
	Disconnect(ctx context.Context, containerID string) error
	// DisconnectDeferred is Disconnect leaving the deletion of the
	// sandbox's record to the caller's commit.
	DisconnectDeferred(ctx context.Context, containerID string) (store.Op, error)
	ConnectNetwork(ctx context.Context, containerID, netRef string, ep *network.EndpointSettings) error
	DisconnectNetwork(ctx context.Context, containerID, netRef string, force bool) error
	Attached(containerID string) *netpkg.Attachment
	// Gen changes whenever what Attached answers may have changed.
	Gen() uint64
	Inspect(ctx context.Context, ref string, verbose bool) (network.Inspect, error)
	DefaultGateway() netip.Addr
	// Reconcile drops the attachments of containers not in live.
	Reconcile(ctx context.Context, live []string) error
	// ReserveNetNS and ReleaseNetNS hold a namespace for a container
	// prepared ahead of its start, which its Connect then takes.
	ReserveNetNS(req netpkg.ConnectRequest) (path string, ok bool, err error)
	ReleaseNetNS(containerID string) error
	// RefillPool prepares network namespaces for the next starts, in the
	// background (called once a start is over).
	RefillPool()
}

// Volumes is what containers need of the volume service: what mounting
// volumes needs (mounts.Volumes), whose Mountpoint archive also uses.
type Volumes interface {
	mounts.Volumes
}

// Runtimes is what containers need of the configured OCI runtimes.
type Runtimes interface {
	// Get returns a usable runtime by name ("" = the default).
	Get(name string) (*runtime.Runtime, error)
	// IsSandbox reports whether the named runtime is gVisor's runsc.
	IsSandbox(name string) bool
	// Known reports whether a runtime of that name is configured.
	Known(name string) bool
	// Defaults are the default runtime's name and default isolation.
	Defaults() (runtimeName, isolation string)
}

// Events records container events.
type Events interface {
	Log(typ evtypes.Type, action evtypes.Action, id string, attrs map[string]string)
}

// Committer makes images of containers' writable layers for `docker
// commit` (*commit.Service implements it).
type Committer interface {
	Commit(ctx context.Context, containerID string, opts commit.Options) (*images.Image, error)
}
