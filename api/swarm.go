package api

import (
	"net/http"
	"strings"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Berth is never part of a swarm. GUIs and SDKs probe these endpoints and
// expect dockerd's answers for a node outside any swarm: 503 with the
// words the docker CLI and docker-py show, never a 404 that reads as
// "no such service".
const (
	errNotManager = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."
	errNotInSwarm = "This node is not part of a swarm"
)

func (s *Server) swarmRoutes() {
	notManager := func(w http.ResponseWriter, r *http.Request) error {
		return errdefs.Unavailable("%s", errNotManager)
	}
	for _, p := range []string{"/nodes", "/services", "/tasks", "/secrets", "/configs"} {
		s.handle(p, notManager)
		s.handle(p+"/", notManager)
	}
	s.handle("GET /swarm", notManager)
	s.handle("GET /swarm/unlockkey", notManager)
	s.handle("POST /swarm/update", notManager)
	s.handle("POST /swarm/leave", func(w http.ResponseWriter, r *http.Request) error {
		return errdefs.Unavailable("%s", errNotInSwarm)
	})
	s.handle("POST /swarm/unlock", func(w http.ResponseWriter, r *http.Request) error {
		return errdefs.Unavailable("%s", errNotInSwarm)
	})
	for _, p := range []string{"POST /swarm/init", "POST /swarm/join"} {
		s.handle(p, func(w http.ResponseWriter, r *http.Request) error {
			return errdefs.NotImplemented("swarm mode is not supported by berthd")
		})
	}
}

// pluginRoutes answer as dockerd with no plugin installed: an empty list,
// "not found" for a named plugin, and a clear refusal to install one
// (Berth has no managed plugin system).
func (s *Server) pluginRoutes() {
	s.handle("GET /plugins", func(w http.ResponseWriter, r *http.Request) error {
		filters, err := filtersValue(r)
		if err != nil {
			return err
		}
		for k := range filters {
			switch k {
			case "capability", "enable":
			default:
				return errdefs.Invalid("invalid filter '%s'", k)
			}
		}
		return writeJSON(w, http.StatusOK, []any{})
	})
	noInstall := func(w http.ResponseWriter, r *http.Request) error {
		return errdefs.NotImplemented("plugins are not supported by berthd: cannot install a plugin")
	}
	s.handle("GET /plugins/privileges", noInstall)
	s.handle("POST /plugins/pull", noInstall)
	s.handle("POST /plugins/create", noInstall)
	s.handle("/plugins/", func(w http.ResponseWriter, r *http.Request) error {
		// /plugins/{name}/json, /enable, /disable, /push, /set, /upgrade,
		// DELETE /plugins/{name}: the name may hold slashes and a tag.
		name := strings.TrimPrefix(r.URL.Path, "/plugins/")
		for _, verb := range []string{"/json", "/enable", "/disable", "/push", "/set", "/upgrade"} {
			if n, ok := strings.CutSuffix(name, verb); ok {
				name = n
				break
			}
		}
		if name == "" {
			return errdefs.NotFound("page not found")
		}
		return errdefs.NotFound("plugin %q not found", name)
	})
}
