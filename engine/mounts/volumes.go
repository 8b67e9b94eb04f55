package mounts

import (
	"context"

	"github.com/moby/moby/api/types/volume"
)

// Volumes is what mounting needs of the volume service
// (*volumes.Service): named volumes made on first use, mounted for a run
// and released after, anonymous ones removed with their container. A nil
// Volumes refuses volume mounts.
type Volumes interface {
	Get(ctx context.Context, name string) (*volume.Volume, error)
	Create(ctx context.Context, req volume.CreateRequest) (*volume.Volume, error)
	Mountpoint(ctx context.Context, name string) (string, error)
	Release(ctx context.Context, name string) error
	Remove(ctx context.Context, name string, force bool) error
	Path(name string) string
}
