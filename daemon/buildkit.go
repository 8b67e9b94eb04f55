package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/snapshots"
	"github.com/berth-dev/berth/internal/errdefs"
)

// newBuildKit wires BuildKit (started on the first build) to Berth's image
// store and an OCI runtime of Berth's set. The engine starts without it when the
// runtime cannot be used; _ping then says Builder-Version 1.
func (d *Daemon) newBuildKit() (*buildkit.Service, error) {
	// runc first: BuildKit's executor runs steps with `run --keep`, which
	// Debian's crun 1.8 does not know.
	rt, err := d.runtimes.Get("runc")
	if err != nil {
		if rt, err = d.runtimes.Get(""); err != nil {
			d.log.Warn("BuildKit disabled: no usable OCI runtime", "err", err)
			return nil, nil
		}
	}
	gc, err := d.cfg.Builder.gc()
	if err != nil {
		return nil, err
	}
	return buildkit.New(buildkit.Config{
		GC:               gc,
		Root:             buildKitRoot(d.cfg.DataRoot),
		Runtime:          rt.Path,
		Images:           buildkitImages{d.images, d.images.LayerStore(), d.log},
		Blobs:            d.images.Content(),
		Network:          buildNetwork{d.networks},
		AllowNetworkHost: d.cfg.Builder.networkHost(),
		Log:              d.log,
	})
}

// buildKitRoot is BuildKit's state directory.
func buildKitRoot(dataRoot string) string { return filepath.Join(dataRoot, "buildkit") }

// keptByBuildKit is the image service's KeepBlobs: the blobs of the shared
// store BuildKit references, whether or not it runs now.
func (d *Daemon) keptByBuildKit(ctx context.Context) (map[string]bool, error) {
	return buildkit.KeptBlobs(ctx, d.buildkit, buildKitRoot(d.cfg.DataRoot))
}

// BuilderConfig is daemon.json's "builder": what builds may be allowed.
// As in Docker, a build may run steps in the host's network (network.host)
// unless "entitlements": {"network-host": false}; security.insecure is
// never granted.
type BuilderConfig struct {
	GC           *BuilderGCConfig `json:"gc,omitempty"`
	Entitlements struct {
		NetworkHost      *bool `json:"network-host,omitempty"`
		SecurityInsecure *bool `json:"security-insecure,omitempty"`
	} `json:"entitlements"`
}

// UnmarshalJSON refuses keys Berth does not apply and
// security-insecure=true.
func (c *BuilderConfig) UnmarshalJSON(b []byte) error {
	type plain BuilderConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(c)); err != nil {
		return err
	}
	if si := c.Entitlements.SecurityInsecure; si != nil && *si {
		return errors.New("builder.entitlements.security-insecure is not supported by berthd")
	}
	return nil
}

func (c *BuilderConfig) networkHost() bool {
	return c == nil || c.Entitlements.NetworkHost == nil || *c.Entitlements.NetworkHost
}

// buildNetwork gives RUN steps a sandbox on the default bridge, as a
// container without options gets.
type buildNetwork struct{ n *network.Service }

func (b buildNetwork) Attach(ctx context.Context, id, hostname string) (string, error) {
	a, err := b.n.Connect(ctx, network.ConnectRequest{ContainerID: id, Hostname: hostname, NetworkMode: "bridge"})
	b.n.RefillPool()
	if err != nil {
		return "", err
	}
	return a.NetNSPath, nil
}

func (b buildNetwork) Detach(ctx context.Context, id string) error { return b.n.Disconnect(ctx, id) }

// buildkitImages is the view of the image service and its layer store
// BuildKit declares.
type buildkitImages struct {
	*images.Service
	*snapshots.Store
	log *slog.Logger
}

func (b buildkitImages) Lookup(ctx context.Context, ref string) (string, bool, error) {
	img, err := b.Resolve(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return img.ID, true, nil
}

func (b buildkitImages) Image(ctx context.Context, id string) ([]byte, []ocispec.Descriptor, error) {
	raw, chain, err := b.RawConfig(id)
	if err != nil {
		return nil, nil, err
	}
	recs, err := b.Layers(chain)
	if err != nil {
		return nil, nil, err
	}
	out := make([]ocispec.Descriptor, len(recs))
	for i, r := range recs {
		if r.Blob == nil {
			return nil, nil, fmt.Errorf("layer %s of image %s has no blob", r.ChainID, id)
		}
		out[i] = ocispec.Descriptor{MediaType: r.Blob.MediaType, Digest: digest.Digest(r.Blob.Digest), Size: r.Blob.Size}
	}
	return raw, out, nil
}

// Register takes each layer Berth lacks (by chain ID) from BuildKit's
// snapshot of it when there is one (hard links: the files are stored once),
// else unpacks it from its blob; records the blob as the layer's; and
// registers the image.
func (b buildkitImages) Register(ctx context.Context, raw []byte, layers []ocispec.Descriptor, unpacked buildkit.UnpackedLayers, tag string) error {
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return errdefs.Invalid("image config: %s", err.Error())
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return errdefs.Invalid("image has %d layers and %d diff IDs", len(layers), len(cfg.RootFS.DiffIDs))
	}
	diffIDs := make([]string, len(layers))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = d.String()
	}
	chain := snapshots.ChainIDs(diffIDs)
	var held, blobs []string
	defer func() {
		b.ReleaseLayers(held)
		for _, d := range blobs {
			b.ReleaseBlob(d)
		}
	}()
	for i, l := range layers {
		blob := images.Blob{Digest: l.Digest.String(), MediaType: l.MediaType, Size: l.Size}
		if _, err := b.EnsureLayer(ctx, chain[i], func(dir string) (images.Layer, error) {
			rec, err := b.takeLayer(ctx, dir, unpacked, blob, diffIDs[i])
			if err == nil {
				blobs = append(blobs, blob.Digest)
			}
			return rec, err
		}); err != nil {
			return err
		}
		held = append(held, chain[i])
	}
	var refs []string
	if tag != "" {
		refs = []string{tag}
	}
	_, err := b.CreateImageRaw(raw, "", refs, "")
	return err
}

// takeLayer fills dir with layer diffID: linked from BuildKit's unpacked
// copy when there is one and it can be, else unpacked from blob.
func (b buildkitImages) takeLayer(ctx context.Context, dir string, unpacked buildkit.UnpackedLayers, blob images.Blob, diffID string) (images.Layer, error) {
	if src := unpacked.Dir(diffID); src != "" {
		rec, err := b.LinkBlob(ctx, dir, src, blob, diffID)
		if err == nil {
			return rec, nil
		}
		lvl := slog.LevelWarn
		if errors.Is(err, snapshots.ErrNotLinkable) {
			lvl = slog.LevelDebug
		}
		b.log.Log(ctx, lvl, "build result: unpacking a layer BuildKit has unpacked", "diffID", diffID, "err", err)
	}
	return b.ExtractBlob(ctx, dir, blob, diffID)
}
