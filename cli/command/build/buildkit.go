package build

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/internal/buildopt"
)

// BuildKit builds go to POST /build?version=2, as dockerd's builder-next
// serves it: the context is the request body, progress comes back as
// BuildKit's status messages ("moby.buildkit.trace"), decoded by the small
// decoder in trace.go so that the client links no BuildKit.

// secretsHeader carries --secret values to berthd (see api/buildkit_build.go).
const secretsHeader = "X-Berth-Build-Secrets"

// maxSecretSize is BuildKit's own cap on one secret.
const maxSecretSize = 500 * 1024

// useBuildKit reports whether this build goes to BuildKit: DOCKER_BUILDKIT
// decides when set (as in docker), else the daemon's _ping does.
func useBuildKit(ctx context.Context, api *client.Client) (bool, error) {
	if v, ok := os.LookupEnv("DOCKER_BUILDKIT"); ok && v != "" {
		switch strings.ToLower(v) {
		case "0", "false", "no", "off":
			return false, nil
		case "1", "true", "yes", "on":
			return true, nil
		}
		return false, fmt.Errorf("DOCKER_BUILDKIT environment variable expects boolean value: %q", v)
	}
	p, err := api.Ping(ctx, client.PingOptions{})
	if err != nil {
		return false, err
	}
	return p.BuilderVersion == build.BuilderBuildKit, nil
}

// classicRefusals are the flags the classic builder cannot apply
// (--add-host, --shm-size and --ulimit it applies to RUN steps, as
// Docker's does).
func (o options) classicRefusals() error {
	for _, f := range []struct {
		set  bool
		name string
	}{{len(o.secrets) > 0, "--secret"}, {len(o.ssh) > 0, "--ssh"}, {len(o.outputs) > 0, "--output"},
		{len(o.cacheFrom) > 0, "--cache-from"}, {len(o.cacheTo) > 0, "--cache-to"}, {o.progressSet, "--progress"}, {len(o.allow) > 0 && !o.hostAllowedClassic(), "--allow"}} {
		if f.set {
			return fmt.Errorf("%s requires BuildKit: unset DOCKER_BUILDKIT=0", f.name)
		}
	}
	return nil
}

// hostAllowedClassic: --allow network.host with --network=host is what the
// classic builder does anyway.
func (o options) hostAllowedClassic() bool {
	return o.network == "host" && len(o.allow) == 1 && o.allow[0] == "network.host"
}

// checkProgress checks --progress.
func (o options) checkProgress() error {
	switch o.progress {
	case progressAuto, progressPlain, progressTTY, progressQuiet, progressRawJSON:
		return nil
	}
	return fmt.Errorf("invalid progress mode %q: expected one of auto, plain, tty, quiet, rawjson", o.progress)
}

// buildKitFlags checks the BuildKit-only flags of a build without a
// session and returns the secrets to send and the outputs.
func (o options) buildKitFlags() (map[string][]byte, []client.ImageBuildOutput, error) {
	if err := o.checkProgress(); err != nil {
		return nil, nil, err
	}
	secrets, err := readSecrets(o.secrets)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range append(append([]string(nil), o.cacheFrom...), o.cacheTo...) {
		if _, _, err := buildopt.Cache(s); err != nil {
			return nil, nil, err
		}
	}
	var outs []client.ImageBuildOutput
	for _, s := range o.outputs {
		out, err := parseOutput(s)
		if err != nil {
			return nil, nil, err
		}
		outs = append(outs, out)
	}
	return secrets, outs, nil
}

// readSecrets reads the --secret values, by id.
func readSecrets(list []string) (map[string][]byte, error) {
	secrets := map[string][]byte{}
	for _, s := range list {
		id, data, err := readSecret(s)
		if err != nil {
			return nil, err
		}
		secrets[id] = data
	}
	return secrets, nil
}

// readSecret reads one --secret value: id=ID[,type=file|env][,src=PATH|env=VAR].
// With neither src nor env, the environment variable named ID is used if
// set, else the file named ID (as buildx).
func readSecret(s string) (string, []byte, error) {
	m, err := buildopt.KV(s)
	if err != nil {
		return "", nil, fmt.Errorf("invalid secret %q: %w", s, err)
	}
	id := m["id"]
	src := m["src"]
	if src == "" {
		src = m["source"]
	}
	env := m["env"]
	for k := range m {
		switch k {
		case "id", "src", "source", "env", "type":
		default:
			return "", nil, fmt.Errorf("invalid secret %q: unexpected key %q", s, k)
		}
	}
	switch m["type"] {
	case "", "file", "env":
	default:
		return "", nil, fmt.Errorf("invalid secret %q: unsupported secret type %q", s, m["type"])
	}
	if m["type"] == "env" && env == "" {
		env, src = src, ""
	}
	if id == "" {
		id = env
		if id == "" {
			id = src
		}
	}
	if id == "" {
		return "", nil, fmt.Errorf("invalid secret %q: id required", s)
	}
	if src == "" && env == "" {
		if _, ok := os.LookupEnv(id); ok && m["type"] != "file" {
			env = id
		} else {
			src = id
		}
	}
	var data []byte
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", nil, fmt.Errorf("secret %s: environment variable %s is not set", id, env)
		}
		data = []byte(v)
	} else {
		// buildx's wording for a missing or unreadable file.
		if _, err := os.Stat(src); err != nil {
			return "", nil, fmt.Errorf("failed to stat %s: %w", src, err)
		}
		f, err := os.Open(src)
		if err != nil {
			return "", nil, fmt.Errorf("secret %s: %w", id, err)
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, maxSecretSize+1)); err != nil {
			return "", nil, fmt.Errorf("secret %s: %w", id, err)
		}
	}
	if len(data) > maxSecretSize {
		return "", nil, fmt.Errorf("secret %s is larger than %d bytes", id, maxSecretSize)
	}
	return id, data, nil
}

// parseOutput reads one --output value: "type=T,k=v,...", or a bare path
// (type=local,dest=PATH; "-" is type=tar to stdout), as buildx.
func parseOutput(s string) (client.ImageBuildOutput, error) {
	if !strings.Contains(s, "=") {
		if s == "-" {
			return client.ImageBuildOutput{Type: "tar", Attrs: map[string]string{"dest": "-"}}, nil
		}
		return client.ImageBuildOutput{Type: "local", Attrs: map[string]string{"dest": s}}, nil
	}
	m, err := buildopt.KV(s)
	if err != nil {
		return client.ImageBuildOutput{}, fmt.Errorf("invalid output %q: %w", s, err)
	}
	t := m["type"]
	delete(m, "type")
	if t == "" {
		return client.ImageBuildOutput{}, fmt.Errorf("invalid output %q: type is required", s)
	}
	return client.ImageBuildOutput{Type: t, Attrs: m}, nil
}

// runBuildKit sends the build to BuildKit in the daemon and renders its
// progress; it returns the image ID.
func runBuildKit(ctx context.Context, cli *command.Cli, o options, bctx *buildContext, bo client.ImageBuildOptions) (string, error) {
	secrets, outs, err := o.buildKitFlags()
	if err != nil {
		return "", err
	}
	bo.Version = build.BuilderBuildKit
	bo.Outputs = outs
	bo.CacheFrom = o.cacheFrom
	bo.Remove, bo.ForceRemove = false, false
	api, err := cli.Client()
	if err != nil {
		return "", err
	}
	headers := map[string]string{}
	if len(o.cacheTo) > 0 {
		// Docker's API has no cache-to: berthd reads it from a header of
		// its own, which the client library can send.
		v, _ := json.Marshal(o.cacheTo)
		headers[cacheToHeader] = string(v)
	}
	if len(o.allow) > 0 {
		headers[allowHeader] = strings.Join(o.allow, ",")
	}
	if len(secrets) > 0 {
		v, _ := json.Marshal(secrets)
		headers[secretsHeader] = base64.StdEncoding.EncodeToString(v)
	}
	if len(headers) > 0 {
		if api, err = cli.NewClient(client.WithHTTPHeaders(headers)); err != nil {
			return "", err
		}
		defer api.Close()
	}
	resp, err := api.ImageBuild(ctx, bctx.tar, bo)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	disp := newDisplay(cli, o)
	id, err := readBuildKitStream(resp.Body, disp)
	disp.done()
	return id, err
}

// newDisplay is the progress display of a BuildKit build: as buildx,
// progress goes to stderr, stdout is for the image ID.
func newDisplay(cli *command.Cli, o options) progressDisplay {
	mode := o.progress
	if o.quiet {
		mode = progressQuiet
	}
	errOut := cli.Err()
	if mode == progressAuto {
		mode = progressPlain
		if errOut.IsTerminal() {
			mode = progressTTY
		}
	}
	return newProgressDisplay(mode, errOut, func() int { _, w := errOut.GetTtySize(); return int(w) })
}

// cacheToHeader carries --cache-to values (a JSON list of "type=..."
// strings) to berthd.
const cacheToHeader = "X-Berth-Build-Cache-To"

// allowHeader carries --allow entitlements to berthd.
const allowHeader = "X-Berth-Build-Allow"

// readBuildKitStream reads the daemon's JSON messages: status updates go to
// disp, the image ID is returned, an error message ends the build.
func readBuildKitStream(body io.Reader, disp progressDisplay) (string, error) {
	dec := json.NewDecoder(body)
	var id string
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				return id, nil
			}
			return id, err
		}
		if m.Error != nil {
			return id, command.StatusError{Status: m.Error.Message, StatusCode: 1}
		}
		if m.Aux == nil {
			continue
		}
		switch m.ID {
		case "moby.buildkit.trace":
			var raw []byte
			if err := json.Unmarshal(*m.Aux, &raw); err != nil {
				return id, fmt.Errorf("reading build progress: %w", err)
			}
			st, err := decodeStatus(raw)
			if err != nil {
				return id, fmt.Errorf("reading build progress: %w", err)
			}
			disp.update(st)
		case "moby.image.id":
			var r struct{ ID string }
			if err := json.Unmarshal(*m.Aux, &r); err == nil {
				id = r.ID
			}
		}
	}
}
