package daemon

import (
	"sync/atomic"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/volumes"
)

// lateContainers answers the image and volume services' questions about
// containers once the containers service exists: those services are built
// first (containers need them), so they get this adapter at construction
// and the daemon binds it before serving. Unbound, no container uses any
// image or volume, which is the truth while no container service has
// loaded any.
type lateContainers struct {
	c atomic.Pointer[containers.Service]
}

var (
	_ images.ContainerUsage = (*lateContainers)(nil)
	_ volumes.Usage         = (*lateContainers)(nil)
)

func (u *lateContainers) bind(c *containers.Service) { u.c.Store(c) }

func (u *lateContainers) ImageUsers(imageID string) []string {
	if c := u.c.Load(); c != nil {
		return c.ImageUsers(imageID)
	}
	return nil
}

func (u *lateContainers) IsRunning(containerID string) bool {
	c := u.c.Load()
	return c != nil && c.IsRunning(containerID)
}

func (u *lateContainers) VolumeUsers(name string) []string {
	if c := u.c.Load(); c != nil {
		return c.VolumeUsers(name)
	}
	return nil
}

// imageBackend is what the API's image routes see: the local image store,
// with pull and push from the registry client and save and load from the
// archive formats beside it.
type imageBackend struct {
	*images.Service
	*registryClient
	*archiver
}

type (
	registryClient = distribution.Service
	archiver       = imagearchive.Service
)
