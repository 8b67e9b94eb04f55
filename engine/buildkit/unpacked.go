package buildkit

import (
	"context"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/moby/buildkit/cache"
	"github.com/moby/buildkit/exporter"
	"github.com/moby/buildkit/session"
)

// A built image's layers are mostly unpacked in BuildKit's snapshots
// already: every RUN, COPY or ADD step's, and those of a base image BuildKit
// pulled and used. Berth's store takes each such layer by hard-linking the
// snapshot's files (see snapshots.LinkBlob) rather than unpacking its blob
// a second time; a layer BuildKit never unpacked is unpacked by Berth, once.

// Keys of BuildKit's cache records (cache/metadata.go) read here.
const (
	keyDiffID          = "cache.diffID"
	keyBlobOnly        = "cache.blobonly"
	keyLowerDiffParent = "cache.lowerDiffParent"
	keyUpperDiffParent = "cache.upperDiffParent"
)

// UnpackedLayers finds where a layer of the image being stored is
// unpacked already, by diff ID: a directory of its own files (overlay
// format) on the data root's file system, valid until the store call
// returns; "" when there is none. It may be nil.
type UnpackedLayers func(diffID string) string

// Dir is u's answer for diffID; "" when u is nil.
func (u UnpackedLayers) Dir(diffID string) string {
	if u == nil {
		return ""
	}
	return u(diffID)
}

type unpackedKey struct{}

// withUnpacked passes the lookup of unpacked layers from the exporter to
// the image store adapter's Create, through the context the image
// exporter hands on.
func withUnpacked(ctx context.Context, u UnpackedLayers) context.Context {
	return context.WithValue(ctx, unpackedKey{}, u)
}

func unpackedFrom(ctx context.Context) UnpackedLayers {
	u, _ := ctx.Value(unpackedKey{}).(UnpackedLayers)
	return u
}

// snapshotDirs finds the layers of an export's results in BuildKit's
// snapshots. A layer is looked up only when Berth's store lacks it (a
// fully cached build of an image Berth has asks for none), and its
// directory is read from a read-only view of its snapshot, kept until
// release.
type snapshotDirs struct {
	ctx    context.Context
	g      session.Group
	chains []cache.RefList

	mu       sync.Mutex
	dirs     map[string]string
	releases []func() error
}

func newSnapshotDirs(ctx context.Context, src *exporter.Source, sessionID string) *snapshotDirs {
	s := &snapshotDirs{ctx: ctx, g: session.NewGroup(sessionID), dirs: map[string]string{}}
	for _, ref := range sourceRefs(src) {
		s.chains = append(s.chains, ref.LayerChain())
	}
	return s
}

// dir is the directory of the layer diffID's own files, or "" when no
// layer of the results with that diff ID has one that can be told.
func (s *snapshotDirs) dir(diffID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.dirs[diffID]; ok {
		return d
	}
	for _, chain := range s.chains {
		for _, l := range chain {
			if l.GetString(keyDiffID) != diffID || !ownSnapshot(l) {
				continue
			}
			if d, release, ok := layerDir(s.ctx, l, s.g); ok {
				s.dirs[diffID] = d
				s.releases = append(s.releases, release)
				return d
			}
		}
	}
	s.dirs[diffID] = ""
	return ""
}

// release ends the views and drops the references to the layers.
func (s *snapshotDirs) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.releases {
		_ = r()
	}
	for _, c := range s.chains {
		_ = c.Release(context.WithoutCancel(s.ctx))
	}
}

// ownSnapshot reports whether l is a layer unpacked in a snapshot of its
// own on top of its parent's: not a blob never unpacked (a lazy base
// layer, or one an imported cache named), not a diff BuildKit computed.
func ownSnapshot(l cache.ImmutableRef) bool {
	if l.Get(keyLowerDiffParent) != nil || l.Get(keyUpperDiffParent) != nil {
		return false
	}
	blobOnly := false
	if v := l.Get(keyBlobOnly); v != nil {
		if err := v.Unmarshal(&blobOnly); err != nil {
			return false
		}
	}
	return !blobOnly
}

// layerDir is the directory of l's own files: the top of a read-only view
// of its snapshot (a bind mount of it for a bottom layer, the first lower
// directory of an overlay otherwise). Nothing is mounted.
func layerDir(ctx context.Context, l cache.ImmutableRef, g session.Group) (string, func() error, bool) {
	m, err := l.Mount(ctx, true, g)
	if err != nil {
		return "", nil, false
	}
	mounts, release, err := m.Mount()
	if err != nil {
		return "", nil, false
	}
	if dir, ok := topDir(mounts); ok {
		return dir, release, true
	}
	_ = release()
	return "", nil, false
}

func topDir(mounts []mount.Mount) (string, bool) {
	if len(mounts) != 1 {
		return "", false
	}
	m := mounts[0]
	switch m.Type {
	case "bind", "rbind":
		return m.Source, m.Source != ""
	case "overlay":
		for _, o := range m.Options {
			if strings.HasPrefix(o, "upperdir=") {
				// A writable view: not a committed layer.
				return "", false
			}
		}
		for _, o := range m.Options {
			if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
				top, _, _ := strings.Cut(v, ":")
				return top, top != ""
			}
		}
	}
	return "", false
}
