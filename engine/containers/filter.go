package containers

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/filters"
)

// listFilterKeys are the filters `docker ps` documents; each is applied by
// listFilter.match. Any other key is refused.
var listFilterKeys = []string{"id", "name", "label", "status", "exited", "ancestor", "before", "since",
	"health", "network", "volume", "is-task", "publish", "expose", "isolation"}

// pruneFilterKeys are the filters container prune applies.
var pruneFilterKeys = []string{"label", "label!", "until"}

// listFilter is a validated ps filter set, with the values that need a
// lookup (images, networks, reference containers) resolved once.
type listFilter struct {
	f                 filters.Args
	before, since     time.Time
	ancestors         map[string]bool
	networks          []netRef
	publish, expose   []network.PortRange
	isTask            *bool
	health            map[string]bool
	exited            map[int]bool
	statuses          map[string]bool
	hasBefore, hasSin bool
}

type netRef struct{ value, name, id string }

func (s *Service) newListFilter(ctx context.Context, f filters.Args) (*listFilter, error) {
	if err := filters.Validate(f, listFilterKeys...); err != nil {
		return nil, err
	}
	lf := &listFilter{f: f}
	if err := lf.parseValues(f); err != nil {
		return nil, err
	}
	if err := s.resolveRefs(ctx, lf, f); err != nil {
		return nil, err
	}
	var err error
	if lf.publish, err = portFilter(f, "publish"); err != nil {
		return nil, err
	}
	if lf.expose, err = portFilter(f, "expose"); err != nil {
		return nil, err
	}
	return lf, nil
}

// parseValues checks and keeps the filters that need no lookup.
func (lf *listFilter) parseValues(f filters.Args) error {
	if vals := f["status"]; len(vals) > 0 {
		lf.statuses = map[string]bool{}
		for _, v := range vals {
			switch v {
			case "created", "restarting", "running", "removing", "paused", "exited", "dead":
				lf.statuses[v] = true
			default:
				return errdefs.Invalid("invalid filter 'status=%s'", v)
			}
		}
	}
	if vals := f["exited"]; len(vals) > 0 {
		lf.exited = map[int]bool{}
		for _, v := range vals {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errdefs.Invalid("invalid filter 'exited=%s'", v)
			}
			lf.exited[n] = true
		}
	}
	if vals := f["health"]; len(vals) > 0 {
		lf.health = map[string]bool{}
		for _, v := range vals {
			switch v {
			case string(container.Starting), string(container.Healthy), string(container.Unhealthy), string(container.NoHealthcheck):
				lf.health[v] = true
			default:
				return errdefs.Invalid("invalid filter 'health=%s': want starting, healthy, unhealthy or none", v)
			}
		}
	}
	for _, v := range f["isolation"] {
		switch v {
		case "default", "process", "hyperv", "":
		default:
			return errdefs.Invalid("invalid filter 'isolation=%s': want default, process or hyperv", v)
		}
	}
	var err error
	lf.isTask, err = filters.Bool(f, "is-task")
	return err
}

// resolveRefs resolves the filters that name other objects (containers,
// images, networks) once for the whole list.
func (s *Service) resolveRefs(ctx context.Context, lf *listFilter, f filters.Args) error {
	for _, v := range f["before"] {
		e, err := s.lookup(v)
		if err != nil {
			return err
		}
		lf.before, lf.hasBefore = e.c.Created, true
	}
	for _, v := range f["since"] {
		e, err := s.lookup(v)
		if err != nil {
			return err
		}
		lf.since, lf.hasSin = e.c.Created, true
	}
	if vals := f["ancestor"]; len(vals) > 0 {
		lf.ancestors = map[string]bool{}
		for _, v := range vals {
			if img, err := s.images.Resolve(ctx, v); err == nil {
				lf.ancestors[img.ID] = true
			}
		}
	}
	for _, v := range f["network"] {
		ref := netRef{value: v}
		if s.net != nil {
			if n, err := s.net.Inspect(ctx, v, false); err == nil {
				ref.name, ref.id = n.Name, n.ID
			}
		}
		lf.networks = append(lf.networks, ref)
	}
	return nil
}

// portFilter parses publish/expose values: port[/proto] or a range
// start-end[/proto], tcp when no protocol is given, as Docker does.
func portFilter(f filters.Args, key string) ([]network.PortRange, error) {
	var out []network.PortRange
	for _, v := range f[key] {
		pr, err := network.ParsePortRange(v)
		if err != nil {
			return nil, errdefs.Invalid("invalid filter '%s=%s': %v", key, v, err)
		}
		out = append(out, pr)
	}
	return out, nil
}

func portsMatch(want []network.PortRange, have func(yield func(network.Port) bool)) bool {
	if len(want) == 0 {
		return true
	}
	found := false
	have(func(p network.Port) bool {
		for _, r := range want {
			if p.Proto() == r.Proto() && p.Num() >= r.Start() && p.Num() <= r.End() {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// match applies the filter set to one container: values of one key are
// alternatives, keys must all hold; every label value must match.
func (lf *listFilter) match(c *Container, health string, nets map[string]*network.EndpointSettings) bool {
	f := lf.f
	if !filters.Any(f, "id", func(v string) bool { return strings.HasPrefix(c.ID, v) }) {
		return false
	}
	if !filters.Any(f, "name", func(v string) bool { return strings.Contains(c.Name, strings.TrimPrefix(v, "/")) }) {
		return false
	}
	if lf.statuses != nil && !lf.statuses[c.State.Status] {
		return false
	}
	if lf.exited != nil && (c.State.Status != StatusExited || !lf.exited[c.State.ExitCode]) {
		return false
	}
	if lf.health != nil && !lf.health[health] {
		return false
	}
	if !filters.Labels(filters.Args{"label": f["label"]}, c.Config.Labels) {
		return false
	}
	if lf.ancestors != nil && !lf.ancestors[c.ImageID] {
		return false
	}
	if lf.hasBefore && !c.Created.Before(lf.before) {
		return false
	}
	if lf.hasSin && !c.Created.After(lf.since) {
		return false
	}
	// Berth runs no swarm: no container is a task.
	if lf.isTask != nil && *lf.isTask {
		return false
	}
	return lf.matchResources(c, nets)
}

// matchResources applies the filters on what a container uses: its
// isolation, volumes, networks and ports.
func (lf *listFilter) matchResources(c *Container, nets map[string]*network.EndpointSettings) bool {
	f := lf.f
	if !filters.Any(f, "isolation", func(v string) bool {
		iso := string(c.HostConfig.Isolation)
		if iso == "" {
			iso = "default"
		}
		return v == iso || (v == "" && iso == "default")
	}) {
		return false
	}
	if !filters.Any(f, "volume", func(v string) bool {
		for _, m := range c.MountPoints {
			if (m.Type == "volume" && m.Name == v) || m.Destination == v || (m.Source != "" && m.Source == v) {
				return true
			}
		}
		return false
	}) {
		return false
	}
	if !lf.matchNetworks(nets) {
		return false
	}
	if !portsMatch(lf.publish, func(yield func(network.Port) bool) {
		for p := range c.HostConfig.PortBindings {
			if !yield(p) {
				return
			}
		}
		if c.HostConfig.PublishAllPorts {
			for p := range c.Config.ExposedPorts {
				if !yield(p) {
					return
				}
			}
		}
	}) {
		return false
	}
	if !portsMatch(lf.expose, func(yield func(network.Port) bool) {
		for p := range c.Config.ExposedPorts {
			if !yield(p) {
				return
			}
		}
		for p := range c.HostConfig.PortBindings {
			if !yield(p) {
				return
			}
		}
	}) {
		return false
	}
	return true
}

// matchNetworks reports whether the container is on one of the filter's
// networks (by name or ID), or the filter names none.
func (lf *listFilter) matchNetworks(nets map[string]*network.EndpointSettings) bool {
	if len(lf.networks) == 0 {
		return true
	}
	for _, ref := range lf.networks {
		for name, ep := range nets {
			if name == ref.value || (ref.name != "" && name == ref.name) ||
				(ep != nil && ep.NetworkID != "" && (ep.NetworkID == ref.value || ep.NetworkID == ref.id)) {
				return true
			}
		}
	}
	return false
}
