package containers

import (
	"context"
	"io"

	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
)

// CommitContainer makes an image of a container's current filesystem and
// configuration (`docker commit`), pausing it meanwhile when asked.
func (s *Service) CommitContainer(ctx context.Context, ref string, pause bool, opts commit.Options) (*images.Image, error) {
	if s.cfg.Commit == nil {
		return nil, errdefs.NotImplemented("commit is not available in this daemon")
	}
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	s.discardPrep(e)
	c := e.c
	e.mu.Unlock()
	if pause && c.State.Status == StatusRunning {
		if err := s.Pause(ctx, c.ID); err == nil {
			defer s.Unpause(context.WithoutCancel(ctx), c.ID)
		}
	}
	cfg := *c.Config
	if o := opts.Config; o != nil {
		mergeCommitConfig(&cfg, o)
	}
	opts.Config = &cfg
	img, err := s.cfg.Commit.Commit(ctx, c.ID, opts)
	if err != nil {
		return nil, err
	}
	s.emit(&c, evtypes.ActionCommit, map[string]string{"comment": opts.Message})
	return img, nil
}

// mergeCommitConfig overlays the fields a commit request sets.
func mergeCommitConfig(dst, o *container.Config) {
	if len(o.Cmd) > 0 {
		dst.Cmd = o.Cmd
	}
	if len(o.Entrypoint) > 0 {
		dst.Entrypoint = o.Entrypoint
	}
	if len(o.Env) > 0 {
		dst.Env = mergeEnv(dst.Env, o.Env)
	}
	if o.WorkingDir != "" {
		dst.WorkingDir = o.WorkingDir
	}
	if o.User != "" {
		dst.User = o.User
	}
	if len(o.ExposedPorts) > 0 {
		dst.ExposedPorts = o.ExposedPorts
	}
	if len(o.Volumes) > 0 {
		dst.Volumes = o.Volumes
	}
	for k, v := range o.Labels {
		if dst.Labels == nil {
			dst.Labels = map[string]string{}
		}
		dst.Labels[k] = v
	}
	if o.StopSignal != "" {
		dst.StopSignal = o.StopSignal
	}
}

// Changes lists the container's filesystem changes (`docker diff`).
func (s *Service) Changes(ctx context.Context, ref string) ([]container.FilesystemChange, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	return s.images.Changes(ctx, e.c.ID)
}

// Export writes a tar of the container's filesystem (`docker export`).
func (s *Service) Export(ctx context.Context, ref string, w io.Writer) error {
	e, err := s.lookup(ref)
	if err != nil {
		return err
	}
	s.discardPrepOf(e)
	if err := s.images.Export(ctx, e.c.ID, w); err != nil {
		return err
	}
	s.emit(&e.c, evtypes.ActionExport, nil)
	return nil
}

// IsRunning tells the image service whether a container runs (rmi -f may
// not delete an image a running container uses).
func (s *Service) IsRunning(id string) bool {
	e, err := s.lookup(id)
	if err != nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.c.State.Running() || e.c.State.Status == StatusRestarting
}
