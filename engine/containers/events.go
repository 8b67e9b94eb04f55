package containers

import (
	"sort"

	"github.com/berth-dev/berth/engine/mounts"
	evtypes "github.com/moby/moby/api/types/events"
)

// Network and volume events that a container's life causes, with
// dockerd's attributes: "connect"/"disconnect" for each network it joins
// or leaves while running, "mount"/"unmount" for each volume at start and
// exit.

func (s *Service) emitNetwork(action evtypes.Action, containerID, netID, netName, driver string) {
	if s.cfg.Events == nil || netID == "" {
		return
	}
	if driver == "" {
		driver = "bridge"
	}
	s.cfg.Events.Log(evtypes.NetworkEventType, action, netID, map[string]string{"container": containerID, "name": netName, "type": driver})
}

// emitAttached sends action for every network the running container is on.
func (s *Service) emitAttached(action evtypes.Action, c *Container, nets map[string]string) {
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.emitNetwork(action, c.ID, nets[n], n, "")
	}
}

// attachedNetworks maps the names of the networks c is attached to now to
// their IDs.
func (s *Service) attachedNetworks(c *Container) map[string]string {
	out := map[string]string{}
	if s.net == nil {
		return out
	}
	if att := s.net.Attached(c.ID); att != nil {
		for name, ep := range att.Networks {
			if ep != nil {
				out[name] = ep.NetworkID
			}
		}
	}
	return out
}

func (s *Service) emitVolumes(action evtypes.Action, c *Container, mps []mounts.MountPoint) {
	if s.cfg.Events == nil {
		return
	}
	for _, m := range mps {
		if m.Type != "volume" || m.Name == "" {
			continue
		}
		attrs := map[string]string{"container": c.ID, "driver": "local"}
		if action == evtypes.ActionMount {
			attrs["destination"] = m.Destination
			attrs["read/write"] = boolString(m.RW)
			attrs["propagation"] = m.Propagation
		}
		s.cfg.Events.Log(evtypes.VolumeEventType, action, m.Name, attrs)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
