package distribution

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// Push uploads a local image to its registry, like `docker push`. A
// reference without a tag pushes every tag of the repository.
func (s *Service) Push(ctx context.Context, ref string, opts PushOptions, progress images.ProgressFunc) error {
	n, err := reference.Parse(ref)
	if err != nil {
		return err
	}
	if reference.Digest(n) != "" {
		return errdefs.Invalid("cannot push a digest reference")
	}
	var targets []reference.Named
	if reference.Tag(n) != "" {
		targets = append(targets, n)
	} else {
		// References come sorted, so tags are pushed in order.
		for _, r := range s.images.References() {
			if rn, err := reference.Parse(r.Name); err == nil && rn.Name() == n.Name() && reference.Tag(rn) != "" {
				targets = append(targets, rn)
			}
		}
	}
	if len(targets) == 0 {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	progress.Send(images.ProgressEvent{Status: "The push refers to repository [" + n.Name() + "]"})
	for _, t := range targets {
		if err := s.pushOne(ctx, t, opts, progress); err != nil {
			return err
		}
	}
	return nil
}

// pushOne uploads the layers of the image tagged n the registry lacks,
// then its manifest, and records the manifest's digest as a reference.
func (s *Service) pushOne(ctx context.Context, n reference.Named, opts PushOptions, progress images.ProgressFunc) error {
	id := s.images.RefTarget(n.String())
	if id == "" {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	raw, chain, err := s.images.RawConfig(id)
	if err != nil {
		return errdefs.NotFound("An image does not exist locally with the tag: %s", reference.FamiliarName(n))
	}
	// Docker pushes gzip layers: tarballs kept uncompressed (import,
	// commit, load) are compressed once and kept that way.
	if err := s.layers.CompressLayers(chain); err != nil {
		return err
	}
	recs, err := s.layers.Layers(chain)
	if err != nil {
		return err
	}
	img, layers, err := newLocalImage(s.content, id, raw, recs)
	if err != nil {
		return err
	}
	cfg := s.registryCfg()
	domain := reference.Domain(n)
	ep := endpoint{host: domain, insecure: domain != "docker.io" && cfg.insecure(domain)}
	rref, err := ep.ref(n)
	if err != nil {
		return err
	}
	ropts := ep.remoteOptions(ctx, authenticator(opts.RegistryAuth), 0)
	if err := s.pushLayers(ctx, n, rref.Context(), ep, ropts, layers, chain, cfg.maxUploads, progress); err != nil {
		return err
	}
	if err := remote.Write(rref, img, ropts...); err != nil {
		return pushError(n, err)
	}
	d, _ := img.Digest()
	manifest, _ := img.RawManifest()
	tag := reference.Tag(n)
	progress.Send(images.ProgressEvent{Status: fmt.Sprintf("%s: digest: %s size: %d", tag, d, len(manifest))})
	// Docker sends the result again as its own aux message (clients skip
	// aux messages when printing).
	progress.Send(images.ProgressEvent{Aux: map[string]any{"Tag": tag, "Digest": d.String(), "Size": len(manifest)}})
	if c, err := reference.WithDigest(n, d.String()); err == nil {
		if err := s.images.AddReference(c.String(), id); err != nil {
			s.log.Warn("push: record repository digest", "ref", c.String(), "err", err)
		}
	}
	s.images.LogEvent("push", reference.Familiar(n), reference.FamiliarName(n), id)
	return nil
}

// pushLayers uploads layers (bottom first, as the image lists them) top
// first, as Docker lists and uploads them, each blob once, at most jobs at
// once.
func (s *Service) pushLayers(ctx context.Context, n reference.Named, repo name.Repository, ep endpoint, ropts []remote.Option, layers []*localLayer, chain []string, jobs int, progress images.ProgressFunc) error {
	order := make([]*localLayer, 0, len(layers))
	from := make([]string, 0, len(layers))
	seen := map[string]bool{}
	refs := s.images.References()
	for i := len(layers) - 1; i >= 0; i-- {
		if !seen[layers[i].blob.Digest] {
			seen[layers[i].blob.Digest] = true
			order = append(order, layers[i])
			from = append(from, s.mountSource(refs, n, chain[i]))
		}
	}
	for _, l := range order {
		progress.Send(images.ProgressEvent{ID: stringid.Short(l.diffID), Status: "Preparing"})
	}
	for i, l := range order {
		if i >= jobs {
			progress.Send(images.ProgressEvent{ID: stringid.Short(l.diffID), Status: "Waiting"})
		}
	}
	err := forEachLimited(ctx, len(order), jobs, func(ctx context.Context, i int) error {
		return s.pushLayer(ctx, repo, order[i], from[i], ep, ropts, progress)
	})
	if err != nil {
		return pushError(n, err)
	}
	return nil
}

// mountSource names another repository of n's registry that received or
// served the layer chainID (it has a digest reference there), for a
// cross-repository mount instead of an upload; "" when none. refs are
// sorted, so the choice is stable.
func (s *Service) mountSource(refs []images.Reference, n reference.Named, chainID string) string {
	for _, r := range refs {
		if !strings.Contains(r.Name, "@") {
			continue
		}
		kn, err := reference.Parse(r.Name)
		if err != nil || reference.Domain(kn) != reference.Domain(n) || kn.Name() == n.Name() {
			continue
		}
		_, chain, err := s.images.RawConfig(r.ImageID)
		if err != nil {
			continue
		}
		for _, c := range chain {
			if c == chainID {
				return reference.Path(kn)
			}
		}
	}
	return ""
}

// pushLayer uploads one layer unless the registry has it already, or mounts
// it from repository from (same registry) when that works.
func (s *Service) pushLayer(ctx context.Context, repo name.Repository, l *localLayer, from string, ep endpoint, ropts []remote.Option, progress images.ProgressFunc) error {
	short := stringid.Short(l.diffID)
	h, err := v1.NewHash(l.blob.Digest)
	if err != nil {
		return err
	}
	if rl, err := remote.Layer(repo.Digest(h.String()), ropts...); err == nil {
		if ok, err := partial.Exists(rl); err == nil && ok {
			progress.Send(images.ProgressEvent{ID: short, Status: "Layer already exists"})
			return nil
		}
	}
	pl := &progressLayer{localLayer: l, progress: progress}
	layer, err := partial.CompressedToLayer(pl)
	if err != nil {
		return err
	}
	if from != "" {
		if src, err := ep.repoPath(from); err == nil {
			layer = &remote.MountableLayer{Layer: layer, Reference: src.Digest(h.String())}
		}
	}
	progress.Send(images.ProgressEvent{ID: short, Status: "Pushing", Current: 0, Total: l.blob.Size})
	if err := remote.WriteLayer(repo, layer, ropts...); err != nil {
		return err
	}
	if from != "" && pl.reads.Load() == 0 {
		// The registry mounted the blob: nothing was read for upload.
		progress.Send(images.ProgressEvent{ID: short, Status: "Mounted from " + from})
		return nil
	}
	progress.Send(images.ProgressEvent{ID: short, Status: "Pushed"})
	return nil
}

// progressLayer reports "Pushing" progress as the blob is read for upload.
type progressLayer struct {
	*localLayer
	progress images.ProgressFunc
	reads    atomic.Int32 // Compressed calls: 0 after a mount
}

func (l *progressLayer) Compressed() (io.ReadCloser, error) {
	l.reads.Add(1)
	f, err := l.localLayer.Compressed()
	if err != nil {
		return nil, err
	}
	pr := &progressReader{r: f, total: l.blob.Size, id: stringid.Short(l.diffID), status: "Pushing", progress: l.progress}
	return struct {
		io.Reader
		io.Closer
	}{pr, f}, nil
}

// pushError words registry refusals as Docker does.
func pushError(n reference.Named, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == 401 || te.StatusCode == 403) {
		return errdefs.Forbidden("denied: requested access to the resource is denied (push to %s): %v", reference.FamiliarName(n), err)
	}
	return err
}
