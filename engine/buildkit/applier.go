package buildkit

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/mount"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/snapshots"
)

// LayerSource is the part of Berth's image store that lets BuildKit reuse
// unpacked layers.
type LayerSource interface {
	// HoldLayerByBlob finds a registered layer whose blob is d and holds
	// it: dir is its unpacked files (overlay format), diffID the digest
	// of its tar; release with ReleaseLayers([]string{chainID}).
	HoldLayerByBlob(d string) (chainID, dir, diffID string, ok bool)
	ReleaseLayers(chainIDs []string)
}

// linkApplier unpacks a layer blob into a build snapshot; when the blob is
// a layer Berth has unpacked already (a base image's), it hard-links that
// layer's files into the snapshot instead: the file data is stored once,
// shared by Berth's layer and BuildKit's snapshot (each keeps it alive
// alone, so neither side's deletion affects the other). Both are read-only
// lowers of overlay mounts once made, so no write reaches a shared inode.
type linkApplier struct {
	diff.Applier
	layers LayerSource
}

func (a linkApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, opts ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	dst, ok := upperDir(mounts)
	if !ok {
		return a.Applier.Apply(ctx, desc, mounts, opts...)
	}
	chainID, src, diffID, ok := a.layers.HoldLayerByBlob(desc.Digest.String())
	if !ok {
		return a.Applier.Apply(ctx, desc, mounts, opts...)
	}
	defer a.layers.ReleaseLayers([]string{chainID})
	if err := snapshots.LinkTree(src, dst); err != nil {
		// Start over the usual way on a clean directory.
		if cerr := snapshots.EmptyDir(dst); cerr != nil {
			return ocispec.Descriptor{}, fmt.Errorf("linking layer %s: %w (and cleaning up: %v)", desc.Digest, err, cerr)
		}
		return a.Applier.Apply(ctx, desc, mounts, opts...)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.Digest(diffID)}, nil
}

// upperDir is the directory an apply onto mounts writes to, when it is a
// plain directory: the bind mount of a bottom snapshot or an overlay's
// upperdir.
func upperDir(mounts []mount.Mount) (string, bool) {
	if len(mounts) != 1 {
		return "", false
	}
	m := mounts[0]
	switch m.Type {
	case "bind", "rbind":
		for _, o := range m.Options {
			if o == "ro" {
				return "", false
			}
		}
		return m.Source, true
	case "overlay":
		for _, o := range m.Options {
			if v, ok := strings.CutPrefix(o, "upperdir="); ok {
				return v, true
			}
		}
	}
	return "", false
}
