package build

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/berth-dev/berth/internal/trash"
)

// Options are the parameters of one build (the /build query).
type Options struct {
	// Tags name the result ("name[:tag]"); checked before anything runs.
	Tags []string
	// Dockerfile is the Dockerfile's path inside the context
	// (default "Dockerfile").
	Dockerfile string
	// BuildArgs are --build-arg values; a nil value means "unset".
	BuildArgs map[string]*string
	// Target is the last stage to build ("" = the last one).
	Target string
	// NoCache rebuilds every step.
	NoCache bool
	// Pull always pulls base images, even when present locally.
	Pull bool
	// Labels are added to the final image (as a last LABEL step).
	Labels map[string]string
	// NetworkMode is the RUN containers' network ("" or "default" = bridge).
	NetworkMode string
	// Platform is the platform of base images to pull ("" = the host's).
	Platform string
	// Remove removes intermediate containers after a successful step;
	// ForceRemove removes them even after a failed one.
	Remove, ForceRemove bool
	// ExtraHosts ("host:ip" or "host=ip"), ShmSize (/dev/shm in bytes,
	// 0 = the default 64 MB) and Ulimits apply to RUN containers, as in
	// Docker's classic builder; they are not part of the cache key there
	// either.
	ExtraHosts []string
	ShmSize    int64
	Ulimits    []*container.Ulimit
	// Resources (memory, memory+swap, CPU shares, quota, period, cpuset,
	// cgroup parent) and SecurityOpt apply to RUN containers as the same
	// options of `docker run` do, as in Docker's classic builder; checked
	// by the container's creation, like any `run`.
	Resources   container.Resources
	SecurityOpt []string
	// MaxContextSize and MaxContextEntries cap the context (0 = defaults).
	MaxContextSize    int64
	MaxContextEntries int
}

// Service builds images. Builds may run concurrently.
type Service struct {
	b   Backend
	db  *store.DB
	tmp string
	log *slog.Logger
}

// trashDir, inside the temp folder, holds leftovers being deleted.
const trashDir = ".trash"

// New makes the build service. tmpDir holds extracted contexts (removed
// when each build ends, and at start for crash leftovers); db keeps the
// build cache in a bucket of its own.
func New(b Backend, db *store.DB, tmpDir string, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := db.EnsureBuckets(bucketCache); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, err
	}
	// Contexts a crash left behind go to a trash folder deleted in the
	// background: a big one must not delay the daemon's start.
	bin, err := trash.Open(filepath.Join(tmpDir, trashDir), log)
	if err != nil {
		return nil, err
	}
	ents, _ := os.ReadDir(tmpDir)
	for _, e := range ents {
		if e.Name() != trashDir {
			if err := bin.Put(filepath.Join(tmpDir, e.Name())); err != nil {
				log.Warn("remove leftover build context", "path", e.Name(), "err", err)
			}
		}
	}
	return &Service{b: b, db: db, tmp: tmpDir, log: log}, nil
}

// Build reads the context tar stream, builds the Dockerfile in it and
// returns the final image ID ("sha256:..."). Progress goes to out as plain
// text lines, Docker's classic builder output ("Step 1/4 : FROM busybox").
// Errors are returned, not written to out.
func (s *Service) Build(ctx context.Context, contextTar io.Reader, opts Options, out io.Writer) (string, error) {
	if opts.Dockerfile == "" {
		opts.Dockerfile = "Dockerfile"
	}
	var tags []string
	for _, t := range opts.Tags {
		n, err := reference.ParseTagged(t)
		if err != nil {
			return "", errdefs.Invalid("invalid tag %q: %s", t, err.Error())
		}
		if reference.Digest(n) != "" {
			return "", errdefs.Invalid("invalid tag %q: a tag cannot contain a digest", t)
		}
		tags = append(tags, reference.Familiar(n))
	}
	switch opts.NetworkMode {
	case "", "default":
		opts.NetworkMode = "bridge"
	}
	if err := checkRunOptions(opts); err != nil {
		return "", err
	}

	dir, err := os.MkdirTemp(s.tmp, "context-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := extractContext(contextTar, dir, opts.MaxContextSize, opts.MaxContextEntries); err != nil {
		return "", err
	}
	bc := &buildContext{dir: dir}
	dfName, err := contextName(opts.Dockerfile)
	if err != nil {
		return "", errdefs.Invalid("the Dockerfile (%s) must be within the build context", opts.Dockerfile)
	}
	data, err := readContextFile(dir, dfName)
	if err != nil {
		if os.IsNotExist(err) {
			return "", errdefs.Invalid("Cannot locate specified Dockerfile: %s", opts.Dockerfile)
		}
		return "", errdefs.Invalid("Cannot read the Dockerfile %s: %s", opts.Dockerfile, err.Error())
	}
	if err := bc.applyDockerignore(dfName); err != nil {
		return "", err
	}
	df, err := parseDockerfile(data, out)
	if err != nil {
		return "", err
	}
	b := &builder{s: s, opts: opts, ctx: bc, df: df, out: out, usedArgs: map[string]bool{}}
	id, err := b.run(ctx)
	if err != nil {
		return "", err
	}
	var unused []string
	for k := range opts.BuildArgs {
		if !b.usedArgs[k] && !proxyArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		fmt.Fprintf(out, "[Warning] One or more build-args [%s] were not consumed\n", strings.Join(unused, " "))
	}
	fmt.Fprintf(out, "Successfully built %s\n", stringid.Short(id))
	for _, t := range tags {
		if err := s.b.Tag(ctx, id, t); err != nil {
			return "", err
		}
		fmt.Fprintf(out, "Successfully tagged %s\n", t)
	}
	return id, nil
}
