package distribution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berth-dev/berth/internal/errdefs"
)

// AuthConfig is Docker's AuthConfig: the body of POST /auth and, base64url
// encoded, the X-Registry-Auth header.
type AuthConfig struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// UnauthorizedError is a registry refusing credentials; the API answers
// it with HTTP 401, as Docker does.
type UnauthorizedError struct{ Msg string }

func (e *UnauthorizedError) Error() string { return e.Msg }

// dockerHubAddress is the server address Docker uses for Docker Hub logins.
const dockerHubAddress = "https://index.docker.io/v1/"

// RegistryHost turns a login server address ("", Docker Hub's v1 URL,
// "http://127.0.0.1:5000", "registry.example/v2/") into the registry host
// go-containerregistry speaks to.
func RegistryHost(server string) string {
	s := strings.TrimSpace(server)
	if s == "" || s == dockerHubAddress || s == "docker.io" || s == "index.docker.io" || s == "registry-1.docker.io" {
		return "index.docker.io"
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			s = u.Host
		}
	}
	s, _, _ = strings.Cut(s, "/")
	if s == "docker.io" || s == "index.docker.io" || s == "registry-1.docker.io" {
		return "index.docker.io"
	}
	return strings.ToLower(s)
}

// Login checks credentials against a registry, like the daemon side of
// `docker login`: the registry's /v2/ endpoint must accept them (basic
// auth, or a token issued for them). Wrong credentials are an
// *UnauthorizedError in Docker's wording.
func (s *Service) Login(ctx context.Context, cfg AuthConfig) error {
	host := RegistryHost(cfg.ServerAddress)
	rc := s.registryCfg()
	ep := endpoint{host: host, insecure: host != "index.docker.io" && rc.insecure(host)}
	var opts []name.Option
	if ep.insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return errdefs.Invalid("invalid registry address %q", cfg.ServerAddress)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken})
	tr, err := transport.NewWithContext(ctx, reg, auth, ep.transport(), nil)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
			return &UnauthorizedError{Msg: fmt.Sprintf("Get %q: unauthorized: incorrect username or password", "https://"+host+"/v2/")}
		}
		return errdefs.Unavailable("cannot reach registry %s: %v", host, err)
	}
	// The transport rewrites the scheme to http when the registry only
	// speaks plain HTTP.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return errdefs.Unavailable("cannot reach registry %s: %v", host, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return &UnauthorizedError{Msg: fmt.Sprintf("login attempt to %s://%s/v2/ failed with status: %d %s",
			resp.Request.URL.Scheme, host, resp.StatusCode, http.StatusText(resp.StatusCode))}
	}
	return fmt.Errorf("login attempt to %s://%s/v2/ failed with status: %d %s",
		resp.Request.URL.Scheme, host, resp.StatusCode, http.StatusText(resp.StatusCode))
}
