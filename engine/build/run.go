package build

import (
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/sys/signal"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// dispatchRun runs a RUN in a temporary container from the current image
// and commits its changes, as Docker's classic builder does. The build
// args the command sees are part of its history line ("|1 A=b /bin/sh -c
// ..."), and so of the cache key.
func (b *builder) dispatchRun(ctx context.Context, st *state, c *instructions.RunCommand) error {
	if len(c.Files) > 0 {
		return errHeredoc("RUN")
	}
	if len(c.FlagsUsed) > 0 {
		return errdefs.Invalid("the --%s option requires BuildKit; the classic builder does not support it", c.FlagsUsed[0])
	}
	args := commandLine(st.cfg.Shell, c.ShellDependantCmdLine)
	if len(args) == 0 {
		return errdefs.Invalid("RUN requires a command")
	}
	env, recorded := b.runArgs(st)
	createdBy := strings.Join(args, " ")
	if len(recorded) > 0 {
		createdBy = fmt.Sprintf("|%d %s %s", len(recorded), strings.Join(recorded, " "), createdBy)
	}
	key := cacheKey(st.image.ID, createdBy, "")
	if b.useCache(ctx, st, key) {
		return nil
	}
	cfg := &container.Config{
		Image: st.image.ID,
		Cmd:   args,
		// [""] resets the image's entrypoint: RUN runs its command as is.
		Entrypoint:  []string{""},
		Env:         env,
		User:        st.cfg.User,
		WorkingDir:  st.cfg.WorkingDir,
		Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
	}
	res := b.opts.Resources
	res.Ulimits = b.opts.Ulimits
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(b.opts.NetworkMode),
		ExtraHosts:  b.opts.ExtraHosts,
		ShmSize:     b.opts.ShmSize,
		Resources:   res,
		SecurityOpt: b.opts.SecurityOpt,
	}
	id, err := b.s.b.CreateContainer(ctx, cfg, hc)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, " ---> Running in %s\n", stringid.Short(id))
	bg := context.WithoutCancel(ctx)
	code, err := b.s.b.RunContainer(ctx, id, b.out)
	if err == nil && code != 0 {
		err = errdefs.Invalid("The command '%s' returned a non-zero code: %d", strings.Join(args, " "), code)
	}
	if err != nil {
		if b.opts.ForceRemove {
			b.s.b.RemoveContainer(bg, id)
		}
		return err
	}
	img, err := b.s.b.CommitStep(ctx, id, st.cfg, createdBy)
	if err != nil {
		if b.opts.ForceRemove {
			b.s.b.RemoveContainer(bg, id)
		}
		return err
	}
	if b.opts.Remove || b.opts.ForceRemove {
		if err := b.s.b.RemoveContainer(bg, id); err != nil {
			return err
		}
		fmt.Fprintf(b.out, "Removing intermediate container %s\n", stringid.Short(id))
	}
	b.s.cacheStore(key, img.ID)
	b.adopt(st, img)
	return nil
}

// runArgs returns the environment a RUN adds for build args (declared ARGs
// with a value that no ENV overrides, and the predefined proxy args given
// on the command line), and the "k=v" list recorded in the history, which
// leaves out undeclared proxy args as Docker does.
func (b *builder) runArgs(st *state) (env, recorded []string) {
	envKeys := map[string]bool{}
	for _, e := range st.cfg.Env {
		k, _, _ := strings.Cut(e, "=")
		envKeys[k] = true
	}
	keys := append([]string{}, st.argKeys...)
	sort.Strings(keys)
	for _, k := range keys {
		v := st.args[k]
		if v == nil || envKeys[k] {
			continue
		}
		env = append(env, k+"="+*v)
		recorded = append(recorded, k+"="+*v)
	}
	var proxies []string
	for k, v := range b.opts.BuildArgs {
		if _, declared := st.args[k]; proxyArgs[k] && !declared && v != nil && !envKeys[k] {
			proxies = append(proxies, k+"="+*v)
		}
	}
	sort.Strings(proxies)
	return append(env, proxies...), recorded
}

// dispatchWorkdir sets the working directory and creates it in the image
// (owned by root, 0755) as Docker does; an existing directory makes a
// config-only step.
func (b *builder) dispatchWorkdir(ctx context.Context, st *state, p string) error {
	if p == "" {
		return errdefs.Invalid("WORKDIR requires exactly one argument")
	}
	if !path.IsAbs(p) {
		base := st.cfg.WorkingDir
		if base == "" {
			base = "/"
		}
		p = path.Join(base, p)
	}
	p = path.Clean(p)
	st.cfg.WorkingDir = p
	return b.commitStep(ctx, st, "/bin/sh -c #(nop) WORKDIR "+p, "", func(rootfs string) error {
		dir, err := securejoin.SecureJoin(rootfs, p)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(dir); err == nil {
			if !fi.IsDir() {
				return errdefs.Invalid("WORKDIR %s: not a directory in the image", p)
			}
			return nil
		}
		return os.MkdirAll(dir, 0o755)
	})
}

func parseSignal(s string) (int, error) {
	sig, err := signal.ParseSignal(s)
	if err != nil {
		return 0, errdefs.Invalid("invalid STOPSIGNAL %q: %s", s, err.Error())
	}
	return int(sig), nil
}

// checkRunOptions checks the RUN containers' hosts and limits before the
// build starts, so that bad input fails the build even when no RUN step
// would have used it.
func checkRunOptions(opts Options) error {
	for _, h := range opts.ExtraHosts {
		if err := containers.CheckExtraHost(h); err != nil {
			return err
		}
	}
	if opts.ShmSize < 0 {
		return errdefs.Invalid("invalid shmsize %d: SHM size can not be less than 0", opts.ShmSize)
	}
	for _, u := range opts.Ulimits {
		if u == nil {
			continue
		}
		if _, err := units.ParseUlimit(u.String()); err != nil {
			return errdefs.Invalid("invalid ulimit %s: %s", u.String(), err.Error())
		}
	}
	return nil
}
