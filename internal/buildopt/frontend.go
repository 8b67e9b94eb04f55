package buildopt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"
)

// Frontend is what a Dockerfile build asks of BuildKit's Dockerfile
// frontend. Both build paths fill it, berthd from a POST /build query and
// berth-build from the flags, and send Attrs: a flag added here works in
// both.
type Frontend struct {
	// Filename is the Dockerfile's name in its folder ("" = Dockerfile).
	Filename   string
	Target     string
	NoCache    bool
	Pull       bool
	Platform   string
	BuildArgs  map[string]*string
	Labels     map[string]string
	ExtraHosts []string
	// Network of RUN steps: "" or "default" (Berth's build network),
	// "none", or "host" (needs the network.host entitlement in Allow).
	Network string
	Allow   []string
	// ShmSize is /dev/shm's size in bytes for RUN steps (0 = default).
	ShmSize int64
	// Ulimits are "name=soft[:hard]" values for RUN steps.
	Ulimits []string
}

// Attrs are f's frontend attributes; an option BuildKit cannot apply is an
// error.
func (f Frontend) Attrs() (map[string]string, error) {
	if err := CheckNetwork(f.Network, f.Allow); err != nil {
		return nil, err
	}
	name := f.Filename
	if name == "" {
		name = "Dockerfile"
	}
	attrs := map[string]string{"filename": name}
	set := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	set("target", f.Target)
	set("platform", f.Platform)
	hosts, err := extraHosts(f.ExtraHosts)
	if err != nil {
		return nil, err
	}
	set("add-hosts", hosts)
	for _, u := range f.Ulimits {
		if _, err := units.ParseUlimit(u); err != nil {
			return nil, err
		}
	}
	set("ulimit", strings.Join(f.Ulimits, ","))
	if f.NoCache {
		attrs["no-cache"] = ""
	}
	if f.Pull {
		attrs["image-resolve-mode"] = "pull"
	}
	if f.ShmSize < 0 {
		return nil, fmt.Errorf("invalid shm size %d: must not be negative", f.ShmSize)
	}
	if f.ShmSize > 0 {
		attrs["shm-size"] = strconv.FormatInt(f.ShmSize, 10)
	}
	for k, v := range f.BuildArgs {
		if v != nil {
			attrs["build-arg:"+k] = *v
		}
	}
	for k, v := range f.Labels {
		attrs["label:"+k] = v
	}
	if f.Network == "none" || f.Network == "host" {
		attrs["force-network-mode"] = f.Network
	}
	return attrs, nil
}

// CheckNetwork checks a RUN steps' network mode against the entitlements
// the client grants.
func CheckNetwork(mode string, allow []string) error {
	switch mode {
	case "", "default", "none":
		return nil
	case "host":
		for _, a := range allow {
			if a == EntitlementNetworkHost {
				return nil
			}
		}
		return errors.New("network mode host needs the network.host entitlement: add --allow network.host")
	}
	return fmt.Errorf("network mode %q not supported by buildkit", mode)
}

// EntitlementNetworkHost is BuildKit's name of the entitlement that runs
// steps in the host's network namespace.
const EntitlementNetworkHost = "network.host"

// extraHosts writes --add-host values ("host:ip" as the docker CLI sends
// them, or "host=ip") as the frontend reads them: "host=ip,...".
func extraHosts(list []string) (string, error) {
	out := make([]string, 0, len(list))
	for _, h := range list {
		host, ip, ok := strings.Cut(h, "=")
		if !ok {
			host, ip, ok = strings.Cut(h, ":")
		}
		if !ok || host == "" || ip == "" {
			return "", fmt.Errorf("invalid add-host %q: bad format, want host:ip", h)
		}
		out = append(out, host+"="+ip)
	}
	return strings.Join(out, ","), nil
}
