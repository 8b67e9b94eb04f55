package daemon

import "github.com/berth-dev/berth/api"

// The daemon's own implementations of the API's backends.
var (
	_ api.SystemBackend  = (*Daemon)(nil)
	_ api.NetworkBackend = netBackend{}
)
