// Package imagechange applies the Dockerfile instructions that
// `docker import --change` and `docker commit --change` accept (CMD,
// ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
// WORKDIR) to an image config. It is a pure parser with no store behind
// it, so image import, commit and the builder can share it; any other
// instruction is refused with an invalid-argument error.
package imagechange

import (
	"encoding/json"
	"path"
	"strings"

	"github.com/mattn/go-shellwords"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Apply applies Dockerfile instructions (the --change flag of import
// and commit) to cfg. Only the instructions Docker allows there are
// accepted: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
// VOLUME, WORKDIR.
func Apply(cfg *dockerspec.DockerOCIImageConfig, changes []string) error {
	for _, change := range changes {
		change = strings.TrimSpace(change)
		if change == "" {
			continue
		}
		instr, rest, _ := strings.Cut(change, " ")
		rest = strings.TrimSpace(rest)
		if i := strings.IndexAny(instr, "\t"); i >= 0 {
			instr, rest = instr[:i], strings.TrimSpace(instr[i+1:]+" "+rest)
		}
		if err := applyChange(cfg, instr, rest); err != nil {
			return err
		}
	}
	return nil
}

// applyChange applies one instruction with its argument text.
func applyChange(cfg *dockerspec.DockerOCIImageConfig, instr, rest string) error {
	switch strings.ToUpper(instr) {
	case "CMD":
		cfg.Cmd = commandArgs(rest)
	case "ENTRYPOINT":
		cfg.Entrypoint = commandArgs(rest)
	case "ENV":
		kvs, err := keyValues(rest, "ENV")
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			cfg.Env = SetEnv(cfg.Env, kv[0], kv[1])
		}
	case "LABEL":
		kvs, err := keyValues(rest, "LABEL")
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			cfg.Labels[kv[0]] = kv[1]
		}
	case "EXPOSE":
		addExposed(cfg, rest)
	case "USER":
		cfg.User = rest
	case "WORKDIR":
		return setWorkdir(cfg, rest)
	case "VOLUME":
		return addVolumes(cfg, rest)
	case "STOPSIGNAL":
		cfg.StopSignal = rest
	case "ONBUILD":
		cfg.OnBuild = append(cfg.OnBuild, rest)
	default:
		return errdefs.Invalid("%s is not a valid change command", instr)
	}
	return nil
}

// addExposed is EXPOSE: ports without a protocol are TCP.
func addExposed(cfg *dockerspec.DockerOCIImageConfig, rest string) {
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range strings.Fields(rest) {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		cfg.ExposedPorts[strings.ToLower(p)] = struct{}{}
	}
}

// setWorkdir is WORKDIR: a relative path is relative to the current one.
func setWorkdir(cfg *dockerspec.DockerOCIImageConfig, rest string) error {
	if rest == "" {
		return errdefs.Invalid("WORKDIR requires exactly one argument")
	}
	if !path.IsAbs(rest) {
		base := cfg.WorkingDir
		if base == "" {
			base = "/"
		}
		rest = path.Join(base, rest)
	}
	cfg.WorkingDir = path.Clean(rest)
	return nil
}

// addVolumes is VOLUME, in JSON or space-separated form.
func addVolumes(cfg *dockerspec.DockerOCIImageConfig, rest string) error {
	if cfg.Volumes == nil {
		cfg.Volumes = map[string]struct{}{}
	}
	var vols []string
	if err := json.Unmarshal([]byte(rest), &vols); err != nil {
		vols = strings.Fields(rest)
	}
	for _, v := range vols {
		if v = strings.TrimSpace(v); v == "" {
			return errdefs.Invalid("VOLUME specified can not be an empty string")
		}
		cfg.Volumes[v] = struct{}{}
	}
	return nil
}

// commandArgs is the JSON (exec) form or else the shell form of CMD and
// ENTRYPOINT.
func commandArgs(s string) []string {
	var args []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &args) == nil {
		return args
	}
	return []string{"/bin/sh", "-c", s}
}

// keyValues parses `k=v k2="v 2"` or the legacy `k v` form.
func keyValues(s, instr string) ([][2]string, error) {
	words, err := shellwords.Parse(s)
	if err != nil || len(words) == 0 {
		return nil, errdefs.Invalid("%s requires at least one argument", instr)
	}
	if !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(s, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, errdefs.Invalid("Syntax error - can't find = in %q. Must be of the form: name=value", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// SetEnv sets k=v in env, replacing an existing k in place.
func SetEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
