package distribution

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
)

// PullOptions are the parameters of Pull.
type PullOptions struct {
	// AllTags pulls every tag of the repository (the reference must not
	// name a tag or digest), like `docker pull --all-tags`.
	AllTags bool
	// Platform ("linux/arm64") picks the image of a multi-platform index;
	// empty means the host's.
	Platform string
	// RegistryAuth is the X-Registry-Auth header: base64url JSON of
	// Docker's AuthConfig. Empty means anonymous.
	RegistryAuth string
}

// PushOptions are the parameters of Push.
type PushOptions struct {
	RegistryAuth string
}

// authenticator decodes the X-Registry-Auth header.
func authenticator(header string) authn.Authenticator {
	if header == "" {
		return authn.Anonymous
	}
	data, err := base64.URLEncoding.DecodeString(header)
	if err != nil {
		if data, err = base64.StdEncoding.DecodeString(header); err != nil {
			if data, err = base64.RawURLEncoding.DecodeString(header); err != nil {
				return authn.Anonymous
			}
		}
	}
	var cfg struct {
		Username      string `json:"username"`
		Password      string `json:"password"`
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	}
	if json.Unmarshal(data, &cfg) != nil {
		return authn.Anonymous
	}
	if cfg.Username == "" && cfg.Password == "" && cfg.Auth == "" && cfg.IdentityToken == "" && cfg.RegistryToken == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth, IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken})
}

// pullError words registry errors as Docker does, so scripts matching on
// them keep working.
func pullError(n reference.Named, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode:
				return errdefs.NotFound("manifest for %s not found: manifest unknown: %s", reference.Familiar(n), orDefault(d.Message, "manifest unknown"))
			case transport.NameUnknownErrorCode, transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return errdefs.NotFound("pull access denied for %s, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", reference.FamiliarName(n))
			}
		}
		if te.StatusCode == 404 {
			return errdefs.NotFound("manifest for %s not found: manifest unknown: manifest unknown", reference.Familiar(n))
		}
		if te.StatusCode == 401 || te.StatusCode == 403 {
			return errdefs.NotFound("pull access denied for %s, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", reference.FamiliarName(n))
		}
	}
	return fmt.Errorf("error pulling %s: %w", reference.Familiar(n), err)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
