package api

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/engine/buildkit"
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
	"cpushares", "cpuquota", "cpuperiod", "memory", "memswap", "cgroupparent", "shmsize", "ulimits", "securityopt"}

// buildKitOptions decodes a version=2 /build query.
func buildKitOptions(r *http.Request) (buildkit.BuildOptions, bool, error) {
	q := r.URL.Query()
	for _, k := range refusedBuildKitParams {
		if v := q.Get(k); v != "" && v != "0" && v != "default" && v != "[]" && v != "null" {
			return buildkit.BuildOptions{}, false, errdefs.Invalid("%s is not supported by BuildKit builds on berthd (%s=%s): drop it, or use the classic builder (version=1, DOCKER_BUILDKIT=0)", k, k, v)
		}
	}
	o := buildkit.BuildOptions{
		Tags:        q["t"],
		Dockerfile:  q.Get("dockerfile"),
		Target:      q.Get("target"),
		NoCache:     boolValue(r, "nocache"),
		Pull:        pullValue(q.Get("pull")),
		NetworkMode: q.Get("networkmode"),
		Platform:    q.Get("platform"),
		ExtraHosts:  q["extrahosts"],
	}
	if h := r.Header.Get(allowHeader); h != "" {
		o.Allow = strings.Split(h, ",")
	}
	for _, j := range []struct {
		key string
		v   any
	}{{"buildargs", &o.BuildArgs}, {"labels", &o.Labels}, {"outputs", &o.Outputs}} {
		if v := q.Get(j.key); v != "" {
			if err := json.Unmarshal([]byte(v), j.v); err != nil {
				return o, false, errdefs.Invalid("invalid %s: %s", j.key, err.Error())
			}
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
			e, err := parseCacheEntry(s)
			if err != nil {
				return o, false, err
			}
			*c.out = append(*c.out, e)
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

// parseCacheEntry reads a --cache-from/--cache-to value: "type=...,k=v"
// as buildx writes it, or a bare image name (a registry cache source, as
// dockerd's cachefrom).
func parseCacheEntry(s string) (buildkit.CacheEntry, error) {
	if !strings.Contains(s, "=") {
		return buildkit.CacheEntry{Type: "registry", Attrs: map[string]string{"ref": s}}, nil
	}
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return buildkit.CacheEntry{}, errdefs.Invalid("invalid cache option %q: %s", s, err.Error())
	}
	e := buildkit.CacheEntry{Attrs: map[string]string{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return e, errdefs.Invalid("invalid cache option %q: %q is not key=value", s, f)
		}
		if strings.ToLower(k) == "type" {
			e.Type = v
		} else {
			e.Attrs[k] = v
		}
	}
	if e.Type == "" {
		return e, errdefs.Invalid("invalid cache option %q: type required", s)
	}
	return e, nil
}
