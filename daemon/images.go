package daemon

import (
	"sync/atomic"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
)

// lateImageUsage answers the image service's questions about containers
// once the containers service exists: the image service is built first
// (containers need it), so it gets this adapter at construction and the
// daemon binds it before serving. Unbound, no container uses any image,
// which is the truth while no container service has loaded any.
type lateImageUsage struct {
	c atomic.Pointer[containers.Service]
}

var _ images.ContainerUsage = (*lateImageUsage)(nil)

func (u *lateImageUsage) bind(c *containers.Service) { u.c.Store(c) }

func (u *lateImageUsage) ImageUsers(imageID string) []string {
	if c := u.c.Load(); c != nil {
		return c.ImageUsers(imageID)
	}
	return nil
}

func (u *lateImageUsage) IsRunning(containerID string) bool {
	c := u.c.Load()
	return c != nil && c.IsRunning(containerID)
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
