package daemon

import (
	"context"
	"io"
	"path/filepath"

	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
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
		Root:    filepath.Join(d.cfg.DataRoot, "buildkit"),
		Runtime: rt.Path,
		Images:  buildkitImages{d.images, imagearchive.New(d.images, d.images.Content())},
		Log:     d.log,
	})
}

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
