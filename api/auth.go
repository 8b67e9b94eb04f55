package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/engine/distribution"
	"github.com/moby/moby/api/types/registry"
)

// AuthBackend checks registry credentials (*distribution.Service implements it).
type AuthBackend interface {
	Login(ctx context.Context, cfg distribution.AuthConfig) error
}

func (s *Server) authRoutes() {
	s.handle("POST /auth", s.postAuth)
}

// postAuth is POST /auth (`docker login`): it validates the credentials
// against the registry and stores nothing (the client keeps them).
func (s *Server) postAuth(w http.ResponseWriter, r *http.Request) error {
	ab, ok := s.b.Distribution.(AuthBackend)
	if !ok {
		return errUnsupported("login")
	}
	var cfg registry.AuthConfig
	if err := decodeJSON(r, &cfg, false); err != nil {
		return err
	}
	err := ab.Login(r.Context(), distribution.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth, ServerAddress: cfg.ServerAddress,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
	})
	var ue *distribution.UnauthorizedError
	if errors.As(err, &ue) {
		// Docker answers refused credentials with 401 and this body.
		return writeJSON(w, http.StatusUnauthorized, map[string]string{"message": ue.Error()})
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
}
