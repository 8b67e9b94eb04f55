package build

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
)

// Backend is what the builder needs from the engine. Layers written by
// COPY/ADD and metadata steps live in a writable layer that is not a
// container (PrepareLayer/RemoveLayer); RUN uses a real container, created
// and run exactly as `docker run` would.
type Backend interface {
	// Resolve finds a local image (errdefs.NotFound if absent).
	Resolve(ctx context.Context, ref string) (*images.Image, error)
	// Pull fetches ref for platform ("" = host), writing progress lines.
	Pull(ctx context.Context, ref, platform string, progress io.Writer) error
	// Tag points ref at imageID.
	Tag(ctx context.Context, imageID, ref string) error
	// ScratchImage returns an image with no content for `FROM scratch`.
	ScratchImage(ctx context.Context) (*images.Image, error)

	// CreateContainer creates (does not start) a RUN container.
	CreateContainer(ctx context.Context, cfg *container.Config, hc *container.HostConfig) (id string, err error)
	// RunContainer starts the container, copies its stdout and stderr to
	// out while it runs, and returns its exit code.
	RunContainer(ctx context.Context, id string, out io.Writer) (exitCode int, err error)
	// RemoveContainer removes a container and its writable layer.
	RemoveContainer(ctx context.Context, id string) error

	// PrepareLayer creates a writable layer named id over imageID.
	PrepareLayer(ctx context.Context, id, imageID string) error
	// MountRootfs mounts the writable layer (or container) id.
	MountRootfs(ctx context.Context, id string) (string, error)
	// UnmountRootfs unmounts it; idempotent.
	UnmountRootfs(ctx context.Context, id string) error
	// RemoveLayer removes a layer made by PrepareLayer; idempotent.
	RemoveLayer(ctx context.Context, id string) error

	// CommitStep makes the image of one build step: the image under id's
	// writable layer, plus its diff (none: an "empty_layer" history entry),
	// with exactly cfg as the container config and createdBy in the history.
	CommitStep(ctx context.Context, id string, cfg dockerspec.DockerOCIImageConfig, createdBy string) (*images.Image, error)
}

// Puller fetches base images (*distribution.Service implements it).
type Puller interface {
	Pull(ctx context.Context, ref string, opts distribution.PullOptions, progress images.ProgressFunc) error
}

var _ Puller = (*distribution.Service)(nil)

// NewBackend adapts the real image, registry and container services.
func NewBackend(imgs *images.Service, puller Puller, ctrs *containers.Service) Backend {
	return &engineBackend{
		imgs: imgs, puller: puller, ctrs: ctrs,
		importer: imagearchive.New(imgs, imgs.LayerStore()),
		commits:  commit.New(imgs, imgs.LayerStore()),
	}
}

var _ Backend = (*engineBackend)(nil)

type engineBackend struct {
	imgs   *images.Service
	puller Puller
	ctrs   *containers.Service
	// importer makes the scratch image, commits each step's image.
	importer *imagearchive.Service
	commits  *commit.Service

	scratchMu sync.Mutex
	scratchID string
}

func (b *engineBackend) Resolve(ctx context.Context, ref string) (*images.Image, error) {
	return b.imgs.Resolve(ctx, ref)
}

func (b *engineBackend) Pull(ctx context.Context, ref, platform string, progress io.Writer) error {
	return b.puller.Pull(ctx, ref, distribution.PullOptions{Platform: platform}, func(e images.ProgressEvent) {
		switch {
		case e.Stream != "":
			io.WriteString(progress, e.Stream)
		case e.Status != "" && e.Current == 0 && e.Total == 0:
			if e.ID != "" {
				fmt.Fprintf(progress, "%s: %s\n", e.ID, e.Status)
			} else {
				fmt.Fprintf(progress, "%s\n", e.Status)
			}
		}
	})
}

func (b *engineBackend) Tag(ctx context.Context, imageID, ref string) error {
	return b.imgs.Tag(ctx, imageID, ref)
}

// ScratchImage imports an empty tar once per daemon run. The image service
// has no zero-layer image yet, so `FROM scratch` images carry one empty
// layer (see the report: images.Service needs a CreateImage for this).
func (b *engineBackend) ScratchImage(ctx context.Context) (*images.Image, error) {
	b.scratchMu.Lock()
	defer b.scratchMu.Unlock()
	if b.scratchID != "" {
		if img, err := b.imgs.Resolve(ctx, b.scratchID); err == nil {
			return img, nil
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.Close()
	img, err := b.importer.Import(ctx, &buf, imagearchive.ImportOptions{Message: "scratch"})
	if err != nil {
		return nil, err
	}
	b.scratchID = img.ID
	return img, nil
}

func (b *engineBackend) CreateContainer(ctx context.Context, cfg *container.Config, hc *container.HostConfig) (string, error) {
	id, _, err := b.ctrs.Create(ctx, containers.CreateOptions{Config: cfg, HostConfig: hc})
	return id, err
}

func (b *engineBackend) RunContainer(ctx context.Context, id string, out io.Writer) (int, error) {
	if err := b.ctrs.Start(ctx, id); err != nil {
		return -1, err
	}
	// Follow the log until the run ends (the log is complete once the
	// container has exited, so nothing is lost however short the run),
	// then read the exit status of the stopped container.
	dm := &demux{w: out}
	if err := b.ctrs.Logs(ctx, id, containers.LogsOptions{Stdout: true, Stderr: true, Follow: true, Tail: -1}, dm); err != nil {
		return -1, err
	}
	wait, err := b.ctrs.Wait(ctx, id, "not-running")
	if err != nil {
		return -1, err
	}
	res, err := wait(ctx)
	if err != nil {
		return -1, err
	}
	return res.ExitCode, nil
}

func (b *engineBackend) RemoveContainer(ctx context.Context, id string) error {
	return b.ctrs.Remove(ctx, id, containers.RemoveOptions{Force: true})
}

func (b *engineBackend) PrepareLayer(ctx context.Context, id, imageID string) error {
	return b.imgs.PrepareRootfs(ctx, id, imageID)
}

func (b *engineBackend) MountRootfs(ctx context.Context, id string) (string, error) {
	return b.imgs.MountRootfs(ctx, id)
}

func (b *engineBackend) UnmountRootfs(ctx context.Context, id string) error {
	return b.imgs.UnmountRootfs(ctx, id)
}

func (b *engineBackend) RemoveLayer(ctx context.Context, id string) error {
	return b.imgs.RemoveRootfs(ctx, id)
}

// CommitStep commits a build step with exactly cfg as the image's config
// (a parent's ONBUILD triggers, for one, do not carry over) and createdBy
// as its history line.
func (b *engineBackend) CommitStep(ctx context.Context, id string, cfg dockerspec.DockerOCIImageConfig, createdBy string) (*images.Image, error) {
	return b.commits.Commit(ctx, id, commit.Options{ReplaceConfig: &cfg, CreatedBy: createdBy})
}

// demux turns Docker's multiplexed frames (8-byte header: stream, 0, 0, 0,
// big-endian length) back into plain output.
type demux struct {
	w   io.Writer
	buf []byte
}

func (d *demux) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	for len(d.buf) >= 8 {
		n := int(binary.BigEndian.Uint32(d.buf[4:8]))
		if len(d.buf) < 8+n {
			break
		}
		if _, err := d.w.Write(d.buf[8 : 8+n]); err != nil {
			return 0, err
		}
		d.buf = d.buf[8+n:]
	}
	return len(p), nil
}

// containerConfig and hostNone are for tests and callers running a plain
// command in an image.
func containerConfig(image string, argv []string) *container.Config {
	return &container.Config{Image: image, Cmd: argv, Entrypoint: []string{""}}
}

func hostNone() *container.HostConfig {
	return &container.HostConfig{NetworkMode: "none"}
}
