package images

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/imagechange"
	"github.com/berth-dev/berth/engine/images/archive"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// emptyTarDigest is the diff ID of a tar with no entries: a commit that
// changed nothing records an empty history entry, not a layer.
const emptyTarDigest = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

// CommitOptions are the parameters of Commit (`docker commit`).
type CommitOptions struct {
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
// writable layer. The container should be paused or stopped by the caller.
func (s *Service) Commit(ctx context.Context, containerID string, opts CommitOptions) (*Image, error) {
	named, err := parseNewTag(opts.Ref)
	if err != nil {
		return nil, err
	}
	dir, err := s.overlayDir(containerID)
	if err != nil {
		return nil, err
	}
	r, err := s.rootfsRecord(containerID)
	if err != nil {
		return nil, err
	}
	cfg, parentID, err := s.commitBase(r)
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
		s.HoldLayer(c)
	}
	defer s.ReleaseLayers(r.ChainIDs)

	created := time.Now().UTC()
	hist := ocispec.History{Created: &created, Author: opts.Author, Comment: opts.Message}
	if opts.CreatedBy != "" {
		hist.CreatedBy = opts.CreatedBy
	} else if opts.Config != nil {
		hist.CreatedBy = strings.Join(opts.Config.Cmd, " ")
	}
	release, err := s.commitDiff(ctx, dir, r, &cfg, &hist)
	if err != nil {
		return nil, err
	}
	defer release()
	cfg.Created = &created
	cfg.Author = opts.Author
	cfg.Comment = opts.Message
	cfg.Container = containerID
	cfg.Parent = parentID
	cfg.History = append(cfg.History, hist)
	var refs []string
	if named != nil {
		refs = append(refs, named.String())
	}
	return s.createImage(&cfg, parentID, refs)
}

// parseNewTag parses the reference a commit or import tags its image with
// ("" for none); a digest is refused, as Docker does.
func parseNewTag(ref string) (reference.Named, error) {
	if ref == "" {
		return nil, nil
	}
	n, err := reference.ParseTagged(ref)
	if err != nil {
		return nil, err
	}
	if reference.Digest(n) != "" {
		return nil, errdefs.Invalid("refusing to create a tag with a digest reference")
	}
	return n, nil
}

// commitBase is the config a commit starts from: its image's, or, when
// that image is gone (rmi -f), a fresh one for the host's platform over
// the layers the container still has.
func (s *Service) commitBase(r rootfsRecord) (imageConfig, string, error) {
	var cfg imageConfig
	s.mu.RLock()
	parent := s.images[r.ImageID]
	if parent != nil {
		_ = json.Unmarshal(parent.Config, &cfg)
	}
	s.mu.RUnlock()
	if parent != nil {
		return cfg, r.ImageID, nil
	}
	p := platform.Host()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.RootFS.Type = "layers"
	for _, c := range r.ChainIDs {
		l, err := s.Layers([]string{c})
		if err != nil {
			return cfg, "", err
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.Digest(l[0].DiffID))
	}
	return cfg, "", nil
}

// commitDiff turns the container's writable layer into a new layer on top
// of cfg's (an empty history entry when nothing changed) and adds it to
// cfg. release drops the holds on the new layer and its blob: call it once
// the image is registered.
func (s *Service) commitDiff(ctx context.Context, dir string, r rootfsRecord, cfg *imageConfig, hist *ocispec.History) (release func(), err error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(archive.WriteTar(ctx, pw, filepath.Join(dir, "upper"), archive.TarOptions{Whiteouts: true}))
	}()
	rec, tmp, err := s.extractToTemp(pr, archive.Options{})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return nil, err
	}
	if rec.DiffID == emptyTarDigest {
		removeTemp(tmp)
		hist.EmptyLayer = true
		return func() { s.ReleaseBlob(rec.Blob.Digest) }, nil
	}
	diffs := make([]string, 0, len(cfg.RootFS.DiffIDs)+1)
	for _, d := range cfg.RootFS.DiffIDs {
		diffs = append(diffs, d.String())
	}
	diffs = append(diffs, rec.DiffID)
	rec.ChainID = snapshots.ChainIDs(diffs)[len(diffs)-1]
	rec.Parent = ""
	if len(r.ChainIDs) > 0 {
		rec.Parent = r.ChainIDs[len(r.ChainIDs)-1]
	}
	if _, err := s.adoptLayer(tmp, rec); err != nil {
		s.ReleaseBlob(rec.Blob.Digest)
		return nil, err
	}
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.Digest(rec.DiffID))
	return func() {
		s.ReleaseLayers([]string{rec.ChainID})
		s.ReleaseBlob(rec.Blob.Digest)
	}, nil
}

// mergeContainerConfig sets the image config from the container's, keeping
// the image's values where the container leaves a field empty (Docker's
// merge for commit).
func mergeContainerConfig(cfg *imageConfig, c *container.Config) {
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
