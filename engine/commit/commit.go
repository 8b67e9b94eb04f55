package commit

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/imagechange"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Images is what a commit needs of the image database (*images.Service
// implements it).
type Images interface {
	// WritableLayer names the image and layer chain under a container's
	// writable layer, and its upper directory.
	WritableLayer(containerID string) (snapshots.Rootfs, string, error)
	RawConfig(id string) (raw []byte, chainIDs []string, err error)
	// CreateImage registers an image whose layers are held.
	CreateImage(cfg *images.ConfigFile, parent string, refs []string) (*images.Image, error)
}

// Layers is what a commit needs of the layer store (*snapshots.Store
// implements it).
type Layers interface {
	HoldLayer(chainID string) bool
	ReleaseLayers(chainIDs []string)
	Layers(chainIDs []string) ([]images.Layer, error)
	// DiffLayer makes a writable layer's upper directory a layer on top
	// of a chain, held until release.
	DiffLayer(ctx context.Context, upper, parent string) (l images.Layer, release func(), err error)
}

var (
	_ Images = (*images.Service)(nil)
	_ Layers = (*snapshots.Store)(nil)
)

// Service commits containers' writable layers. Safe for concurrent use.
type Service struct {
	images Images
	layers Layers
}

// New makes the service over the image database and the layer store.
func New(imgs Images, layers Layers) *Service {
	return &Service{images: imgs, layers: layers}
}

// Options are the parameters of Commit (`docker commit`).
type Options struct {
	Ref     string // "name[:tag]", empty for untagged
	Author  string
	Message string
	Changes []string // Dockerfile instructions
	// Config is the container's config; its fields override the image's
	// where set, as Docker merges them.
	Config *container.Config
	// ReplaceConfig, when set, is the new image's container config exactly
	// (no merge, no changes): the builder knows each step's whole config,
	// including what must go (a parent's ONBUILD triggers).
	ReplaceConfig *dockerspec.DockerOCIImageConfig
	// CreatedBy is the history line; "" uses Config.Cmd, as docker commit.
	CreatedBy string
}

// Commit makes a new image from the container's image plus the diff of its
// writable layer (none when nothing changed: an empty_layer history entry).
// The container should be paused or stopped by the caller.
func (s *Service) Commit(ctx context.Context, containerID string, opts Options) (*images.Image, error) {
	refs, err := reference.NewTagRefs(opts.Ref)
	if err != nil {
		return nil, err
	}
	r, upper, err := s.images.WritableLayer(containerID)
	if err != nil {
		return nil, err
	}
	cfg, parentID, err := s.base(r)
	if err != nil {
		return nil, err
	}
	if opts.ReplaceConfig != nil {
		cfg.Config = *opts.ReplaceConfig
	} else {
		if opts.Config != nil {
			mergeContainerConfig(&cfg, opts.Config)
		}
		if err := imagechange.Apply(&cfg.Config, opts.Changes); err != nil {
			return nil, err
		}
	}

	// Hold the parent's layers: an rmi -f of the parent must not take them
	// away before the new image is registered.
	for _, c := range r.ChainIDs {
		s.layers.HoldLayer(c)
	}
	defer s.layers.ReleaseLayers(r.ChainIDs)

	created := time.Now().UTC()
	hist := ocispec.History{Created: &created, Author: opts.Author, Comment: opts.Message}
	if opts.CreatedBy != "" {
		hist.CreatedBy = opts.CreatedBy
	} else if opts.Config != nil {
		hist.CreatedBy = strings.Join(opts.Config.Cmd, " ")
	}
	top := ""
	if len(r.ChainIDs) > 0 {
		top = r.ChainIDs[len(r.ChainIDs)-1]
	}
	layer, release, err := s.layers.DiffLayer(ctx, upper, top)
	if err != nil {
		return nil, err
	}
	defer release()
	if layer.ChainID == "" {
		hist.EmptyLayer = true
	} else {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.Digest(layer.DiffID))
	}
	cfg.Created = &created
	cfg.Author = opts.Author
	cfg.Comment = opts.Message
	cfg.Container = containerID
	cfg.Parent = parentID
	cfg.History = append(cfg.History, hist)
	return s.images.CreateImage(&cfg, parentID, refs)
}

// base is the config a commit starts from: its image's, or, when that
// image is gone (rmi -f), a fresh one for the host's platform over the
// layers the container still has.
func (s *Service) base(r snapshots.Rootfs) (images.ConfigFile, string, error) {
	var cfg images.ConfigFile
	raw, _, err := s.images.RawConfig(r.ImageID)
	if err == nil {
		_ = json.Unmarshal(raw, &cfg)
		return cfg, r.ImageID, nil
	}
	if !errdefs.IsNotFound(err) {
		return cfg, "", err
	}
	p := platform.Host()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.RootFS.Type = "layers"
	layers, err := s.layers.Layers(r.ChainIDs)
	if err != nil {
		return cfg, "", err
	}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.Digest(l.DiffID))
	}
	return cfg, "", nil
}

// mergeContainerConfig sets the image config from the container's, keeping
// the image's values where the container leaves a field empty (Docker's
// merge for commit).
func mergeContainerConfig(cfg *images.ConfigFile, c *container.Config) {
	ic := &cfg.Config
	if c.User != "" {
		ic.User = c.User
	}
	if len(c.ExposedPorts) > 0 {
		if ic.ExposedPorts == nil {
			ic.ExposedPorts = map[string]struct{}{}
		}
		for p := range c.ExposedPorts {
			ic.ExposedPorts[p.String()] = struct{}{}
		}
	}
	for _, e := range c.Env {
		k, v, _ := strings.Cut(e, "=")
		ic.Env = imagechange.SetEnv(ic.Env, k, v)
	}
	if len(c.Cmd) > 0 {
		ic.Cmd = c.Cmd
	}
	if len(c.Entrypoint) > 0 {
		ic.Entrypoint = c.Entrypoint
	}
	if len(c.Volumes) > 0 {
		if ic.Volumes == nil {
			ic.Volumes = map[string]struct{}{}
		}
		for v := range c.Volumes {
			ic.Volumes[v] = struct{}{}
		}
	}
	if c.WorkingDir != "" {
		ic.WorkingDir = c.WorkingDir
	}
	if len(c.Labels) > 0 {
		if ic.Labels == nil {
			ic.Labels = map[string]string{}
		}
		for k, v := range c.Labels {
			ic.Labels[k] = v
		}
	}
	if c.StopSignal != "" {
		ic.StopSignal = c.StopSignal
	}
	if c.Healthcheck != nil {
		ic.Healthcheck = c.Healthcheck
	}
	if len(c.OnBuild) > 0 {
		ic.OnBuild = c.OnBuild
	}
	if len(c.Shell) > 0 {
		ic.Shell = c.Shell
	}
}
