package containers

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine/mounts"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"
)

func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Inspect returns Docker's JSON view of a container.
func (s *Service) Inspect(ctx context.Context, ref string, size bool) (*container.InspectResponse, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	var c Container
	var health *container.Health
	var execIDs []string
	e.view(func(rec *Container) {
		c = *rec
		if e.health != nil && c.State.Running() {
			h := *e.health
			h.Log = append([]*container.HealthcheckResult(nil), e.health.Log...)
			health = &h
		}
		for id, x := range e.execs {
			x.mu.Lock()
			if x.Running || !x.Started {
				execIDs = append(execIDs, id)
			}
			x.mu.Unlock()
		}
	})
	st := c.State
	resp := &container.InspectResponse{
		ID:      c.ID,
		Created: timeString(c.Created),
		Path:    c.Path,
		Args:    nonNil(c.Args),
		State: &container.State{
			Status:     container.ContainerState(st.Status),
			Running:    st.Running(),
			Paused:     st.Status == StatusPaused,
			Restarting: st.Status == StatusRestarting,
			OOMKilled:  st.OOMKilled,
			Dead:       st.Status == StatusDead,
			Pid:        st.Pid,
			ExitCode:   st.ExitCode,
			Error:      st.Error,
			StartedAt:  timeString(st.StartedAt),
			FinishedAt: timeString(st.FinishedAt),
			Health:     health,
		},
		Image:           c.ImageID,
		ResolvConfPath:  resolvConfPath(&c),
		HostnamePath:    hostnamePath(&c),
		HostsPath:       hostsPath(&c),
		LogPath:         c.LogPath,
		Name:            "/" + c.Name,
		RestartCount:    c.RestartCount,
		Driver:          "overlay2",
		Platform:        "linux",
		ExecIDs:         execIDs,
		HostConfig:      c.HostConfig,
		GraphDriver:     &storage.DriverData{Name: "overlay2", Data: map[string]string{}},
		Mounts:          mounts.ToAPI(c.MountPoints, s.vols),
		Config:          c.Config,
		NetworkSettings: s.networkSettings(&c),
	}
	if size {
		rw, total, err := s.images.RootfsSize(ctx, c.ID)
		if err == nil {
			resp.SizeRw, resp.SizeRootFs = &rw, &total
		}
	}
	return resp, nil
}

// networkSettings is what inspect shows of the container's networks: the
// live attachment while it runs, the configured networks otherwise.
func (s *Service) networkSettings(c *Container) *container.NetworkSettings {
	if s.net != nil && c.State.Running() {
		if att := s.net.Attached(c.ID); att != nil {
			// The attachment is built for this call: its maps are ours
			// (ps of 200 copied 200 of them per request).
			ns := &container.NetworkSettings{SandboxKey: att.NetNSPath, SandboxID: c.ID, Ports: att.Ports, Networks: att.Networks}
			if ns.Ports == nil {
				ns.Ports = network.PortMap{}
			}
			if ns.Networks == nil {
				ns.Networks = map[string]*network.EndpointSettings{}
			}
			return ns
		}
	}
	ns := &container.NetworkSettings{Ports: network.PortMap{}, Networks: map[string]*network.EndpointSettings{}}
	mode := string(c.HostConfig.NetworkMode)
	if !strings.HasPrefix(mode, "container:") {
		ep := &network.EndpointSettings{}
		if cfg, ok := c.Endpoints[mode]; ok && cfg != nil {
			cp := *cfg
			ep = &cp
		}
		ns.Networks[mode] = ep
	}
	for name, cfg := range c.Endpoints {
		if _, ok := ns.Networks[name]; !ok && cfg != nil {
			cp := *cfg
			ns.Networks[name] = &cp
		}
	}
	return ns
}

// portSummaries flattens a port map into ps's PORTS entries.
func portSummaries(pm network.PortMap) []container.PortSummary {
	out := []container.PortSummary{}
	for p, bindings := range pm {
		if len(bindings) == 0 {
			out = append(out, container.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
			continue
		}
		for _, b := range bindings {
			n, _ := strconv.Atoi(b.HostPort)
			out = append(out, container.PortSummary{IP: b.HostIP, PrivatePort: p.Num(), PublicPort: uint16(n), Type: string(p.Proto())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PrivatePort != out[j].PrivatePort {
			return out[i].PrivatePort < out[j].PrivatePort
		}
		return out[i].Type < out[j].Type
	})
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// statusText is the human STATUS column of `ps`.
func statusText(st State, now time.Time) string {
	switch st.Status {
	case StatusRunning:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt))
	case StatusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case StatusRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case StatusRemoving:
		return "Removal In Progress"
	case StatusDead:
		return "Dead"
	case StatusCreated:
		return "Created"
	}
	if st.FinishedAt.IsZero() {
		return "Created"
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// healthSuffix is what `ps` appends to STATUS: " (healthy)" and so on.
func healthSuffix(h *container.HealthSummary) string {
	if h == nil {
		return ""
	}
	if h.Status == container.Starting {
		return " (health: starting)"
	}
	return " (" + string(h.Status) + ")"
}

func commandText(c *Container) string {
	parts := append([]string{c.Path}, c.Args...)
	return strings.Join(parts, " ")
}
