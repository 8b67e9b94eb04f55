package buildkit

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	digest "github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A FROM image of Berth's store is keyed by its layers' chain ID, as
// dockerd keys images of its store: two manifests expose wrote over other
// blobs of the same layers (a push compressed one) give the same key; a
// manifest expose did not write keeps BuildKit's key.
func TestLocalImageKey(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), ctdNamespace)
	s := openShared(t, t.TempDir())
	defer s.db.Close()
	cs := s.mdb.ContentStore()
	diffIDs := []digest.Digest{digest.FromString("tar a"), digest.FromString("tar b")}
	cfg, _ := json.Marshal(ocispec.Image{RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}})
	cfgD := putBlob(t, ctx, cs, string(cfg), nil)
	manifest := func(first digest.Digest, labels map[string]string) digest.Digest {
		m, _ := json.Marshal(ocispec.Manifest{
			Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgD, Size: int64(len(cfg))},
			Layers: []ocispec.Descriptor{{Digest: first, Size: 1}, {Digest: diffIDs[1], Size: 1}},
		})
		return putBlob(t, ctx, cs, string(m), labels)
	}
	exposed := map[string]string{exposedLabel: cfgD.String()}
	tarM := manifest(diffIDs[0], exposed)
	gzM := manifest(digest.FromString("gzip of tar a"), exposed)
	pulled := manifest(digest.FromString("another gzip of tar a"), nil)

	want := identity.ChainID(diffIDs).String()
	for _, m := range []digest.Digest{tarM, gzM} {
		if k, ok := localImageKey(ctx, cs, m, nil); !ok || k != want {
			t.Errorf("key of exposed manifest %s: %q %v, want the chain ID %s", m, k, ok, want)
		}
	}
	one := 1
	if k, ok := localImageKey(ctx, cs, gzM, &one); !ok || k != diffIDs[0].String() {
		t.Errorf("key of the first layer only: %q %v, want %s", k, ok, diffIDs[0])
	}
	three := 3
	for name, c := range map[string]struct {
		m     digest.Digest
		limit *int
	}{"not exposed": {pulled, nil}, "limit beyond the layers": {tarM, &three}, "no such blob": {digest.FromString("x"), nil}, "not a digest": {"sha256:zz", nil}} {
		if k, ok := localImageKey(ctx, cs, c.m, c.limit); ok {
			t.Errorf("%s: key %q, want BuildKit's", name, k)
		}
	}
}
