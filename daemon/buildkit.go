package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"

	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/network"
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
	return buildkit.New(buildkit.Config{
		Root:             filepath.Join(d.cfg.DataRoot, "buildkit"),
		Runtime:          rt.Path,
		Images:           buildkitImages{d.images, imagearchive.New(d.images, d.images.LayerStore())},
		Network:          buildNetwork{d.networks},
		AllowNetworkHost: d.cfg.Builder.networkHost(),
		Log:              d.log,
	})
}

// BuilderConfig is daemon.json's "builder": what builds may be allowed.
// As in Docker, a build may run steps in the host's network (network.host)
// unless "entitlements": {"network-host": false}; security.insecure is
// never granted.
type BuilderConfig struct {
	Entitlements struct {
		NetworkHost      *bool `json:"network-host,omitempty"`
		SecurityInsecure *bool `json:"security-insecure,omitempty"`
	} `json:"entitlements"`
}

// UnmarshalJSON refuses keys Berth does not apply (Docker's "gc" among
// them) and security-insecure=true.
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
	if err != nil {
		return "", err
	}
	return a.NetNSPath, nil
}

func (b buildNetwork) Detach(ctx context.Context, id string) error { return b.n.Disconnect(ctx, id) }

// buildkitImages is the view of the image services BuildKit declares.
type buildkitImages struct {
	s   *images.Service
	arc *imagearchive.Service
}

func (b buildkitImages) Lookup(ctx context.Context, ref string) (string, bool, error) {
	img, err := b.s.Resolve(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return img.ID, true, nil
}

func (b buildkitImages) Save(ctx context.Context, id string, w io.Writer) error {
	return b.arc.Save(ctx, []string{id}, w)
}

func (b buildkitImages) Load(ctx context.Context, r io.Reader) error {
	return b.arc.Load(ctx, r, nil)
}
