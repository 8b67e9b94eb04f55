package containers

import (
	"bytes"
	"os"

	netpkg "github.com/berth-dev/berth/engine/network"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
)

// rewireRunning runs change (a connect or disconnect of the running
// container e to nw, as action names it), emits its event and then
// rewrites the container's resolv.conf for its new networks.
func (s *Service) rewireRunning(e *entry, nw network.Inspect, action evtypes.Action, change func() error) error {
	before := s.net.Attached(e.c.ID)
	if err := change(); err != nil {
		return err
	}
	s.emitNetwork(action, e.c.ID, nw.ID, nw.Name, nw.Driver)
	if err := s.refreshResolvConf(&e.c, before); err != nil {
		s.log.Warn("network "+string(action)+": resolv.conf not updated", "container", e.c.ID, "err", err)
	}
	return nil
}

// refreshResolvConf rewrites a running container's resolv.conf after
// `network connect` or `disconnect` changed its resolver (the embedded DNS
// joins or leaves with the user networks; a sandbox's resolver is its user
// network's gateway), as Docker does. before is the attachment before the
// change. A file whose content is not what berthd wrote for before (the
// user edited it, or the host's resolvers changed since) is left alone.
// The write is in place: the container's /etc/resolv.conf is a bind mount
// of this very inode, so a rename would not reach it.
func (s *Service) refreshResolvConf(c *Container, before *netpkg.Attachment) error {
	path := resolvConfPath(c)
	cur, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(cur, renderResolvConf(c, before)) {
		return err
	}
	next := renderResolvConf(c, s.net.Attached(c.ID))
	if bytes.Equal(next, cur) {
		return nil
	}
	return writeFileInPlace(path, next)
}
