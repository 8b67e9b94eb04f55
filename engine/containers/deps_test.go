package containers

import (
	"github.com/berth-dev/berth/engine/events"
	netpkg "github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/volumes"
)

// The daemon's services satisfy what containers declare it needs.
var (
	_ Networks = (*netpkg.Service)(nil)
	_ Volumes  = (*volumes.Service)(nil)
	_ Runtimes = (*runtime.Set)(nil)
	_ Events   = (*events.Service)(nil)
)
