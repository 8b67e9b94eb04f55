package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/container"
)

// BuildBackend is what POST /build needs (*build.Service implements it).
type BuildBackend interface {
	Build(ctx context.Context, contextTar io.Reader, opts build.Options, out io.Writer) (imageID string, err error)
}

// buildRoutes registers POST /build over b (nil: the endpoint answers 501).
// version=2 builds go to BuildKit (nil bk: refused).
func (s *Server) buildRoutes(b BuildBackend, bk BuildKitBackend) {
	s.handle("POST /build", func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Query().Get("version") == "2" {
			return s.buildKit(w, r, bk)
		}
		return s.build(w, r, b)
	})
}

// build serves the classic builder's endpoint: the body is the context as
// a (possibly compressed) tar, the query carries the options, the answer
// streams {"stream": ...} lines, an {"aux": {"ID": ...}} with the image ID,
// and errors as {"errorDetail": ...}.
func (s *Server) build(w http.ResponseWriter, r *http.Request, b BuildBackend) error {
	if b == nil {
		return errUnsupported("building images")
	}
	opts, quiet, err := buildOptions(r)
	if err != nil {
		return err
	}
	ps := newProgressStream(w)
	var out io.Writer = &streamWriter{ps: ps}
	if quiet {
		out = io.Discard
	}
	id, err := b.Build(r.Context(), r.Body, opts, out)
	if err != nil {
		return ps.finish(err)
	}
	ps.send(progressMessage{ID: "moby.image.id", Aux: map[string]string{"ID": id}})
	if quiet {
		ps.send(progressMessage{Stream: id + "\n"})
	}
	return nil
}

// refusedClassicParams are /build parameters berthd's classic builder
// does not take: squash needs an experimental dockerd, isolation other than
// "default" is Windows-only. Refused when set, never ignored.
var refusedClassicParams = []string{"squash", "isolation"}

// buildOptions decodes the /build query as the docker CLI sends it.
func buildOptions(r *http.Request) (build.Options, bool, error) {
	q := r.URL.Query()
	if v := q.Get("version"); v != "" && v != "1" {
		return build.Options{}, false, errdefs.Invalid("unsupported builder version %q (1 or 2)", v)
	}
	if remote := q.Get("remote"); remote != "" {
		return build.Options{}, false, errdefs.Invalid("remote build contexts (%s) are not supported by berthd: send the context as a tar stream (docker build <dir> or -)", remote)
	}
	if k, v := setParam(q, refusedClassicParams); k != "" {
		return build.Options{}, false, errdefs.Invalid("%s is not supported by the classic builder on berthd (%s=%s): drop it", k, k, v)
	}
	c, err := commonBuildQuery(r)
	if err != nil {
		return build.Options{}, false, err
	}
	opts := build.Options{
		Tags: c.tags, Dockerfile: c.dockerfile, Target: c.target, NoCache: c.noCache, Pull: c.pull,
		NetworkMode: c.network, Platform: c.platform, BuildArgs: c.buildArgs, Labels: c.labels,
		Remove:      true,
		ForceRemove: boolValue(r, "forcerm"),
	}
	if q.Has("rm") {
		opts.Remove = boolValue(r, "rm")
	}
	opts.ExtraHosts = q["extrahosts"]
	if opts.ShmSize, opts.Ulimits, err = runLimits(q); err != nil {
		return build.Options{}, false, err
	}
	if opts.Resources, opts.SecurityOpt, err = runResources(q); err != nil {
		return build.Options{}, false, err
	}
	return opts, boolValue(r, "q"), nil
}

// runResources decodes the RUN containers' resources and security options
// of a classic build, as the docker CLI (DOCKER_BUILDKIT=0) and docker-py's
// container_limits send them.
func runResources(q url.Values) (container.Resources, []string, error) {
	res := container.Resources{
		CpusetCpus: q.Get("cpusetcpus"), CpusetMems: q.Get("cpusetmems"), CgroupParent: q.Get("cgroupparent"),
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{{"memory", &res.Memory}, {"memswap", &res.MemorySwap}, {"cpushares", &res.CPUShares},
		{"cpuquota", &res.CPUQuota}, {"cpuperiod", &res.CPUPeriod}} {
		if v := q.Get(f.key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return res, nil, errdefs.Invalid("invalid %s %q: not an integer", f.key, v)
			}
			*f.dst = n
		}
	}
	var secOpt []string
	if v := q.Get("securityopt"); v != "" && v != "null" {
		if err := json.Unmarshal([]byte(v), &secOpt); err != nil {
			return res, nil, errdefs.Invalid("invalid securityopt: %s", err.Error())
		}
	}
	return res, secOpt, nil
}

// buildQuery holds the /build parameters both builders take.
type buildQuery struct {
	tags                                  []string
	dockerfile, target, network, platform string
	noCache, pull                         bool
	buildArgs                             map[string]*string
	labels                                map[string]string
}

func commonBuildQuery(r *http.Request) (buildQuery, error) {
	q := r.URL.Query()
	c := buildQuery{
		tags: q["t"], dockerfile: q.Get("dockerfile"), target: q.Get("target"),
		network: q.Get("networkmode"), platform: q.Get("platform"),
		noCache: boolValue(r, "nocache"), pull: pullValue(q.Get("pull")),
	}
	if v := q.Get("buildargs"); v != "" {
		if err := json.Unmarshal([]byte(v), &c.buildArgs); err != nil {
			return c, errdefs.Invalid("invalid buildargs: %s", err.Error())
		}
	}
	if v := q.Get("labels"); v != "" {
		if err := json.Unmarshal([]byte(v), &c.labels); err != nil {
			return c, errdefs.Invalid("invalid labels: %s", err.Error())
		}
	}
	return c, nil
}

// pullValue: the CLI sends pull=1; older clients may send an image name.
func pullValue(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return !(v == "" || v == "0" || v == "no" || v == "false" || v == "none")
}

// streamWriter turns the builder's text output into {"stream": ...} lines.
type streamWriter struct{ ps *progressStream }

func (w *streamWriter) Write(p []byte) (int, error) {
	w.ps.send(progressMessage{Stream: string(p)})
	return len(p), nil
}
