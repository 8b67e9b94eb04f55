package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/userns"
)

// Validate checks values a type alone does not, naming the key, without
// touching the host: berthd runs it (on the configuration with its
// defaults) before it creates a folder, a bridge or a netfilter chain, so a
// refused start leaves nothing behind; `berthd --validate` and SIGHUP run
// it too.
func (c *Config) Validate() error {
	withDefaults := *c
	withDefaults.Defaults()
	c = &withDefaults
	if c.HostGatewayIP != "" {
		if _, err := netip.ParseAddr(c.HostGatewayIP); err != nil {
			return fmt.Errorf("invalid host-gateway-ip %q: not an IP address", c.HostGatewayIP)
		}
	}
	if err := setLevel(new(slog.LevelVar), c.LogLevel); err != nil {
		return err
	}
	if err := c.CRI.validate(); err != nil {
		return err
	}
	if _, err := c.Builder.gc(); err != nil {
		return err
	}
	for _, h := range c.Hosts {
		if _, err := c.parseHost(h); err != nil {
			return err
		}
	}
	if c.tlsOn() {
		if _, err := serverTLS(c); err != nil {
			return err
		}
	}
	if _, _, err := userns.ParseSpec(c.UsernsRemap); err != nil {
		return err
	}
	if iso, _ := runtime.NormalizeIsolation(c.DefaultIsolation); iso == runtime.IsolationSandbox && c.UsernsRemap != "" {
		return fmt.Errorf("default-isolation %q cannot be combined with userns-remap: sandboxed containers do not run remapped yet", c.DefaultIsolation)
	}
	if c.UIAddr != "" {
		if _, _, _, err := c.uiAddr(); err != nil {
			return err
		}
	}
	if err := containers.ValidateLogConfig(c.LogDriver, c.LogOpts); err != nil {
		return err
	}
	if _, err := c.APILimits.serveLimits(); err != nil {
		return fmt.Errorf("api-limits: %w", err)
	}
	nc, err := networkConfig(c)
	if err != nil {
		return err
	}
	if err := network.ValidateConfig(nc); err != nil {
		return err
	}
	return nil
}

// hostAddr is one parsed -H address.
type hostAddr struct {
	proto    string // unix, tcp or fd
	addr     string // socket path, host:port, or fd number ("" = the first)
	loopback bool   // tcp on a loopback address
}

// parseHost parses one -H address (unix://path, tcp://host:port, fd://,
// a bare path or host:port) and applies the rules that refuse one: plain
// TCP on a non-loopback address needs --allow-plain-tcp.
func (c *Config) parseHost(h string) (hostAddr, error) {
	proto, rest, ok := strings.Cut(h, "://")
	if !ok {
		proto, rest = "unix", h
		if strings.Contains(h, ":") && !strings.HasPrefix(h, "/") {
			proto = "tcp"
		}
	}
	switch proto {
	case "unix":
		if rest == "" {
			rest = "/run/berth/berth.sock"
		}
		return hostAddr{proto: proto, addr: rest}, nil
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return hostAddr{}, fmt.Errorf("invalid -H %s: %v", h, err)
		}
		if port == "" {
			port = "2375"
			if c.tlsOn() {
				port = "2376"
			}
		}
		ip := net.ParseIP(host)
		ha := hostAddr{proto: proto, addr: net.JoinHostPort(host, port), loopback: host == "localhost" || (ip != nil && ip.IsLoopback())}
		if !c.tlsOn() && !ha.loopback && !c.AllowPlainTCP {
			return hostAddr{}, fmt.Errorf("refusing to serve the API without TLS on %s: anyone who can reach it gets root on this host. Use --tlsverify with certificates from `berthd certs`, listen on 127.0.0.1, or pass --allow-plain-tcp to accept the risk", h)
		}
		return ha, nil
	case "fd":
		// Whether sockets were passed is checked when listening (still
		// before set-up): --validate runs without them.
		return hostAddr{proto: proto, addr: rest}, nil
	}
	return hostAddr{}, fmt.Errorf("invalid -H %s: protocol %q is not unix, tcp or fd", h, proto)
}
