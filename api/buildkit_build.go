package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/berth-dev/berth/engine/buildkit"
	"github.com/berth-dev/berth/internal/buildopt"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Build progress as dockerd's builder-next streams it: each BuildKit status
// update is an aux message with this id whose value is the encoded
// StatusResponse (a JSON string of its protobuf bytes); the image ID comes
// last as the classic builder's "moby.image.id".
const buildKitTraceID = "moby.buildkit.trace"

// SecretsHeader carries `berth build --secret` values to a version=2
// build: base64 of a JSON object {id: bytes}. It is Berth's own (dockerd
// reads secrets over a client session); like X-Registry-Auth it travels
// only over the daemon's socket or its TLS connection.
const secretsHeader = "X-Berth-Build-Secrets"

// cacheToHeader carries `--cache-to` values (a JSON list of "type=..."
// strings): Docker's /build has no parameter for them.
const cacheToHeader = "X-Berth-Build-Cache-To"

// allowHeader carries `--allow` entitlements (comma-separated).
const allowHeader = "X-Berth-Build-Allow"

// buildKit serves POST /build?version=2 with BuildKit inside berthd.
func (s *Server) buildKit(w http.ResponseWriter, r *http.Request, b BuildKitBackend) error {
	if b == nil {
		return errdefs.Invalid("BuildKit is not enabled on this daemon: use the classic builder (version=1, DOCKER_BUILDKIT=0)")
	}
	o, quiet, err := buildKitOptions(r)
	if err != nil {
		return err
	}
	if err := o.Check(); err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		return err
	}
	ps := newProgressStream(w)
	status := func(sr []byte) {
		if !quiet {
			ps.send(progressMessage{ID: buildKitTraceID, Aux: sr})
		}
	}
	id, err := b.Build(r.Context(), r.Body, o, status)
	if err != nil {
		return ps.finish(err)
	}
	ps.send(progressMessage{ID: "moby.image.id", Aux: map[string]string{"ID": id}})
	return nil
}

// refusedBuildKitParams are /build parameters of the classic builder that
// BuildKit has no counterpart for (dockerd's builder-next refuses most of
// them too): refused when set, never ignored.
var refusedBuildKitParams = []string{"remote", "session", "squash", "isolation", "cpusetcpus", "cpusetmems",
	"cpushares", "cpuquota", "cpuperiod", "memory", "memswap", "cgroupparent", "securityopt"}

// setParam returns the first of keys that q sets to a value other than a
// default the docker CLI sends ("", "0", "default", "[]", "null").
func setParam(q url.Values, keys []string) (k, v string) {
	for _, k := range keys {
		if v := q.Get(k); v != "" && v != "0" && v != "default" && v != "[]" && v != "null" {
			return k, v
		}
	}
	return "", ""
}

// buildKitOptions decodes a version=2 /build query.
func buildKitOptions(r *http.Request) (buildkit.BuildOptions, bool, error) {
	q := r.URL.Query()
	if k, v := setParam(q, refusedBuildKitParams); k != "" {
		return buildkit.BuildOptions{}, false, errdefs.Invalid("%s is not supported by BuildKit builds on berthd (%s=%s): drop it, or use the classic builder (version=1, DOCKER_BUILDKIT=0)", k, k, v)
	}
	c, err := commonBuildQuery(r)
	if err != nil {
		return buildkit.BuildOptions{}, false, err
	}
	o := buildkit.BuildOptions{Tags: c.tags, Frontend: buildopt.Frontend{
		Filename: c.dockerfile, Target: c.target, NoCache: c.noCache, Pull: c.pull,
		Network: c.network, Platform: c.platform, BuildArgs: c.buildArgs, Labels: c.labels,
		ExtraHosts: q["extrahosts"],
	}}
	if h := r.Header.Get(allowHeader); h != "" {
		o.Allow = strings.Split(h, ",")
	}
	shm, ulimits, err := runLimits(q)
	if err != nil {
		return o, false, err
	}
	o.ShmSize = shm
	for _, u := range ulimits {
		o.Ulimits = append(o.Ulimits, u.String())
	}
	if v := q.Get("outputs"); v != "" {
		if err := json.Unmarshal([]byte(v), &o.Outputs); err != nil {
			return o, false, errdefs.Invalid("invalid outputs: %s", err.Error())
		}
	}
	for _, c := range []struct {
		key string
		v   string
		out *[]buildkit.CacheEntry
	}{{"cachefrom", q.Get("cachefrom"), &o.CacheFrom}, {cacheToHeader, r.Header.Get(cacheToHeader), &o.CacheTo}} {
		v := c.v
		if v == "" {
			continue
		}
		var list []string
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return o, false, errdefs.Invalid("invalid %s: %s", c.key, err.Error())
		}
		for _, s := range list {
			typ, attrs, err := buildopt.Cache(s)
			if err != nil {
				return o, false, errdefs.Invalid("%s", err.Error())
			}
			*c.out = append(*c.out, buildkit.CacheEntry{Type: typ, Attrs: attrs})
		}
	}
	if h := r.Header.Get(secretsHeader); h != "" {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err == nil {
			err = json.Unmarshal(raw, &o.Secrets)
		}
		if err != nil {
			return o, false, errdefs.Invalid("invalid %s header: %s", secretsHeader, err.Error())
		}
	}
	return o, boolValue(r, "q"), nil
}

// runLimits reads the shmsize and ulimits of RUN steps (both builders).
func runLimits(q url.Values) (shm int64, ulimits []*units.Ulimit, err error) {
	if v := q.Get("shmsize"); v != "" {
		shm, err = strconv.ParseInt(v, 10, 64)
		if err != nil || shm < 0 {
			return 0, nil, errdefs.Invalid("invalid shmsize %q", v)
		}
	}
	if v := q.Get("ulimits"); v != "" {
		var list []*units.Ulimit
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return 0, nil, errdefs.Invalid("invalid ulimits: %s", err.Error())
		}
		for _, u := range list {
			if u != nil {
				ulimits = append(ulimits, u)
			}
		}
	}
	return shm, ulimits, nil
}
