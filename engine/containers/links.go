package containers

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Legacy links (--link name:alias), as Docker keeps them: on the default
// bridge they become /etc/hosts entries and ALIAS_* environment variables
// of the linking container; on a user network they are link aliases the
// embedded DNS answers for the linking container only
// (EndpointSettings.Links).

var validAlias = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// parseLink splits "name:alias" (alias defaults to name) and the stored
// form "/name:/parent/alias".
func parseLink(l string) (name, alias string, err error) {
	name, alias, ok := strings.Cut(l, ":")
	name = strings.TrimPrefix(name, "/")
	if !ok {
		alias = name
	}
	alias = path.Base("/" + strings.TrimPrefix(alias, "/"))
	if name == "" || alias == "" || alias == "/" || alias == "." {
		return "", "", errdefs.Invalid("invalid link format %q: want name:alias", l)
	}
	// The alias becomes a hosts entry and variable names: no white space
	// or other characters that could add lines or words.
	if !validAlias.MatchString(alias) {
		return "", "", errdefs.Invalid("invalid link alias %q in %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", alias, l)
	}
	return name, alias, nil
}

// prepareLinks checks HostConfig.Links at create. On the default bridge it
// resolves each linked container and stores the links in Docker's form
// ("/child:/parent/alias", which inspect shows); on a user network they
// become the primary endpoint's Links (what the docker CLI sends there
// anyway), and the linked container may not exist yet. name is the new
// container's name.
func (s *Service) prepareLinks(hc *container.HostConfig, name string, endpoints map[string]*network.EndpointSettings) error {
	if len(hc.Links) == 0 {
		return nil
	}
	mode := string(hc.NetworkMode)
	switch {
	case mode == "host":
		return errdefs.Invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
	case strings.HasPrefix(mode, "container:"):
		return errdefs.Invalid("conflicting options: container type network can't be used with links. This would result in undefined behavior")
	case mode == "none":
		return errdefs.Invalid("conflicting options: none type networking can't be used with links. This would result in undefined behavior")
	}
	var out []string
	for _, l := range hc.Links {
		child, alias, err := parseLink(l)
		if err != nil {
			return err
		}
		if mode != "bridge" {
			// On a user network a link is a DNS alias resolved when asked:
			// the linked container may come later (Docker's rule).
			out = append(out, child+":"+alias)
			continue
		}
		e, err := s.lookup(child)
		if err != nil {
			return errdefs.Invalid("could not get container for %s: %v", child, err)
		}
		if e == nil { // the name being created
			return errdefs.Invalid("cannot link a container to itself: %s", child)
		}
		e.mu.Lock()
		childName, childMode := e.c.Name, string(e.c.HostConfig.NetworkMode)
		e.mu.Unlock()
		if childMode == "host" {
			return errdefs.Invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
		}
		out = append(out, "/"+childName+":/"+name+"/"+alias)
	}
	if mode == "bridge" {
		hc.Links = out
		return nil
	}
	ep := endpoints[mode]
	if ep == nil {
		ep = &network.EndpointSettings{}
		endpoints[mode] = ep
	}
	if len(ep.Links) == 0 {
		ep.Links = out
	}
	return nil
}

// linkedContainer is what a legacy link needs from the linked container.
type linkedContainer struct {
	Name, Alias, Hostname string
	IP                    string // on the default bridge
	Env                   []string
	Exposed               network.PortSet
}

// legacyLinks gathers the linked containers of a container on the default
// bridge at start: each must be running on the default bridge.
func (s *Service) legacyLinks(c *Container) ([]linkedContainer, error) {
	if string(c.HostConfig.NetworkMode) != "bridge" || len(c.HostConfig.Links) == 0 || s.net == nil {
		return nil, nil
	}
	var out []linkedContainer
	for _, l := range c.HostConfig.Links {
		child, alias, err := parseLink(l)
		if err != nil {
			return nil, err
		}
		linkAlias := "/" + c.Name + "/" + alias
		e, err := s.lookup(child)
		if err != nil {
			return nil, errdefs.Invalid("could not get container for %s: %v", child, err)
		}
		if e == nil || e.c.ID == c.ID {
			return nil, errdefs.Invalid("cannot link a container to itself: %s", child)
		}
		e.mu.Lock()
		lc := linkedContainer{Name: e.c.Name, Alias: alias, Hostname: e.c.Config.Hostname,
			Env: append([]string(nil), e.c.Config.Env...), Exposed: e.c.Config.ExposedPorts}
		running, id := e.c.State.Running(), e.c.ID
		e.mu.Unlock()
		if !running {
			return nil, errdefs.Invalid("Cannot link to a non running container: /%s AS %s", lc.Name, linkAlias)
		}
		att := s.net.Attached(id)
		var ep *network.EndpointSettings
		if att != nil {
			ep = att.Networks["bridge"]
		}
		if ep == nil || !ep.IPAddress.IsValid() {
			return nil, errdefs.Invalid("Cannot link to /%s, as it does not belong to the default network", lc.Name)
		}
		lc.IP = ep.IPAddress.String()
		out = append(out, lc)
	}
	return out, nil
}

// linkHosts are the /etc/hosts lines for the links: the alias, the linked
// container's hostname and, when it differs from the alias, its name.
func linkHosts(links []linkedContainer) []string {
	var out []string
	for _, l := range links {
		names := l.Alias + " " + l.Hostname
		if l.Alias != l.Name {
			names += " " + l.Name
		}
		out = append(out, l.IP+"\t"+names)
	}
	return out
}

// linkEnv is Docker's environment for legacy links, for a container named
// parent: ALIAS_NAME, ALIAS_PORT (the lowest exposed port),
// ALIAS_PORT_<port>_<PROTO>[_ADDR|_PORT|_PROTO] and ALIAS_ENV_<key> for
// the linked container's environment (without HOME and PATH).
func linkEnv(parent string, links []linkedContainer) []string {
	var env []string
	for _, l := range links {
		prefix := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(l.Alias))
		ports := make([]network.Port, 0, len(l.Exposed))
		for p := range l.Exposed {
			ports = append(ports, p)
		}
		sort.Slice(ports, func(i, j int) bool {
			if ports[i].Num() != ports[j].Num() {
				return ports[i].Num() < ports[j].Num()
			}
			return ports[i].Proto() < ports[j].Proto()
		})
		if len(ports) > 0 {
			env = append(env, fmt.Sprintf("%s_PORT=%s://%s:%d", prefix, ports[0].Proto(), l.IP, ports[0].Num()))
		}
		for _, p := range ports {
			k := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Num(), strings.ToUpper(string(p.Proto())))
			env = append(env,
				fmt.Sprintf("%s=%s://%s:%d", k, p.Proto(), l.IP, p.Num()),
				fmt.Sprintf("%s_ADDR=%s", k, l.IP),
				fmt.Sprintf("%s_PORT=%d", k, p.Num()),
				fmt.Sprintf("%s_PROTO=%s", k, p.Proto()))
		}
		env = append(env, fmt.Sprintf("%s_NAME=/%s/%s", prefix, parent, l.Alias))
		for _, kv := range l.Env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "HOME" || k == "PATH" {
				continue
			}
			env = append(env, fmt.Sprintf("%s_ENV_%s=%s", prefix, k, v))
		}
	}
	return env
}

// RemoveLink removes the legacy link "/parent/alias" from its parent
// (`docker rm --link`); the linked container stays.
func (s *Service) RemoveLink(name string) error {
	full := "/" + strings.TrimPrefix(name, "/")
	parent, alias := path.Split(full)
	parent = strings.Trim(parent, "/")
	if parent == "" {
		return errdefs.Invalid("Conflict, cannot remove the default link name of the container")
	}
	e, err := s.lookup(parent)
	if err != nil || e == nil {
		return errdefs.NotFound("Cannot get parent /%s for link name %s", parent, full)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var kept []string
	for _, l := range e.c.HostConfig.Links {
		if _, a, err := parseLink(l); err == nil && a == alias {
			continue
		}
		kept = append(kept, l)
	}
	if len(kept) == len(e.c.HostConfig.Links) {
		return errdefs.NotFound("Could not find entity for %s", full)
	}
	e.c.HostConfig.Links = kept
	return s.persist(e)
}
