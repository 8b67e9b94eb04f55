package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type (
	// ImageBuildOptions are the build flags berth sends.
	ImageBuildOptions struct {
		Tags                                                     []string
		SuppressOutput, NoCache, Remove, ForceRemove, PullParent bool
		NetworkMode, Dockerfile, Target, SessionID, BuildID      string
		BuildArgs                                                map[string]*string
		AuthConfigs                                              map[string]registry.AuthConfig
		Labels                                                   map[string]string
		CacheFrom                                                []string
		Platforms                                                []ocispec.Platform
		Version                                                  build.BuilderVersion
		Outputs                                                  []ImageBuildOutput
		// RUN steps' hosts and limits.
		ExtraHosts []string
		ShmSize    int64
		Ulimits    []*container.Ulimit
	}
	// ImageBuildOutput is one --output of a BuildKit build.
	ImageBuildOutput struct {
		Type  string
		Attrs map[string]string
	}
	// ImageBuildResult is the daemon's JSON progress stream.
	ImageBuildResult struct{ Body io.ReadCloser }
	// RegistryLoginOptions are the credentials to check.
	RegistryLoginOptions struct {
		Username, Password, ServerAddress, IdentityToken, RegistryToken string
	}
	RegistryLoginResult struct{ Auth registry.AuthResponse }
)

// ImageBuild starts a build of the tar stream buildContext.
func (c *Client) ImageBuild(ctx context.Context, buildContext io.Reader, o ImageBuildOptions) (ImageBuildResult, error) {
	q, err := buildQuery(o)
	if err != nil {
		return ImageBuildResult{}, err
	}
	buf, err := json.Marshal(o.AuthConfigs)
	if err != nil {
		return ImageBuildResult{}, err
	}
	h := http.Header{}
	h.Add("X-Registry-Config", base64.URLEncoding.EncodeToString(buf))
	h.Set("Content-Type", "application/x-tar")
	resp, err := c.send(ctx, http.MethodPost, "/build", q, h, buildContext)
	if err != nil {
		return ImageBuildResult{}, err
	}
	return ImageBuildResult{Body: resp.Body}, nil
}

func buildQuery(o ImageBuildOptions) (url.Values, error) {
	q := url.Values{}
	if len(o.Tags) > 0 {
		q["t"] = o.Tags
	}
	flag := func(on bool, k, v string) {
		if on {
			q.Set(k, v)
		}
	}
	flag(o.SuppressOutput, "q", "1")
	flag(o.NoCache, "nocache", "1")
	flag(!o.Remove, "rm", "0")
	flag(o.ForceRemove, "forcerm", "1")
	flag(o.PullParent, "pull", "1")
	flag(o.NetworkMode != "" && o.NetworkMode != "default", "networkmode", o.NetworkMode)
	flag(o.Dockerfile != "", "dockerfile", o.Dockerfile)
	flag(o.Target != "", "target", o.Target)
	if len(o.ExtraHosts) > 0 {
		q["extrahosts"] = o.ExtraHosts
	}
	flag(o.ShmSize != 0, "shmsize", strconv.FormatInt(o.ShmSize, 10))
	for k, v := range map[string]any{"buildargs": o.BuildArgs, "labels": o.Labels, "cachefrom": o.CacheFrom, "ulimits": o.Ulimits} {
		if err := setJSON(q, k, v); err != nil {
			return q, err
		}
	}
	flag(o.SessionID != "", "session", o.SessionID)
	if len(o.Platforms) > 1 {
		return q, cerrdefs.ErrInvalidArgument.WithMessage("specifying multiple platforms is not yet supported")
	}
	if len(o.Platforms) == 1 {
		q.Set("platform", formatPlatform(o.Platforms[0]))
	}
	flag(o.BuildID != "", "buildid", o.BuildID)
	flag(o.Version != "", "version", string(o.Version))
	if o.Outputs != nil {
		b, err := json.Marshal(o.Outputs)
		if err != nil {
			return q, err
		}
		q.Set("outputs", string(b))
	}
	return q, nil
}

// setJSON sets q[k] to v as JSON when v (a map or slice) is not empty.
func setJSON(q url.Values, k string, v any) error {
	switch x := v.(type) {
	case map[string]*string:
		if len(x) == 0 {
			return nil
		}
	case map[string]string:
		if len(x) == 0 {
			return nil
		}
	case []string:
		if len(x) == 0 {
			return nil
		}
	case []*container.Ulimit:
		if len(x) == 0 {
			return nil
		}
	}
	b, err := json.Marshal(v)
	if err == nil {
		q.Set(k, string(b))
	}
	return err
}

func formatPlatform(p ocispec.Platform) string {
	if p.OS == "" {
		return "unknown"
	}
	return path.Join(p.OS, p.Architecture, p.Variant)
}

// RegistryLogin checks credentials with the daemon.
func (c *Client) RegistryLogin(ctx context.Context, o RegistryLoginOptions) (RegistryLoginResult, error) {
	auth := registry.AuthConfig{Username: o.Username, Password: o.Password, ServerAddress: o.ServerAddress, IdentityToken: o.IdentityToken, RegistryToken: o.RegistryToken}
	var r registry.AuthResponse
	err := c.post(ctx, "/auth", nil, auth, &r)
	return RegistryLoginResult{Auth: r}, err
}
