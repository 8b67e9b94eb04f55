package opts

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
)

// ParsePortSpecs parses -p values ("[ip:][hostPort:]containerPort[/proto]",
// with ranges "8000-8001:80-81") into exposed ports and bindings, as
// docker's nat.ParsePortSpecs does.
func ParsePortSpecs(specs []string) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, spec := range specs {
		if err := parsePortSpec(spec, exposed, bindings); err != nil {
			return nil, nil, err
		}
	}
	return exposed, bindings, nil
}

func parsePortSpec(raw string, exposed network.PortSet, bindings network.PortMap) error {
	spec, proto, hasProto := strings.Cut(raw, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return fmt.Errorf("invalid proto: %s", proto)
	}
	ip, hostPort, containerPort, err := splitPortSpec(spec, raw)
	if err != nil {
		return err
	}
	var hostIP netip.Addr
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("invalid ip address: %s", ip)
		}
		hostIP = a
	}
	if containerPort == "" {
		return fmt.Errorf("no port specified: %s<empty>", raw)
	}
	cStart, cEnd, err := parseRange(containerPort)
	if err != nil {
		return fmt.Errorf("invalid containerPort: %s", containerPort)
	}
	var hStart, hEnd uint16
	if hostPort != "" {
		hStart, hEnd, err = parseRange(hostPort)
		if err != nil {
			return fmt.Errorf("invalid hostPort: %s", hostPort)
		}
		if hEnd-hStart != cEnd-cStart && hStart != hEnd {
			return fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", containerPort, hostPort)
		}
	}
	for i := uint32(0); i <= uint32(cEnd-cStart); i++ {
		p, ok := network.PortFrom(cStart+uint16(i), network.IPProtocol(proto))
		if !ok {
			return fmt.Errorf("invalid containerPort: %s", containerPort)
		}
		exposed[p] = struct{}{}
		hp := ""
		switch {
		case hostPort == "":
		case hStart != hEnd:
			hp = strconv.Itoa(int(hStart) + int(i))
		case cStart == cEnd:
			hp = strconv.Itoa(int(hStart))
		default:
			hp = hostPort // a single host port for a range: daemon picks one
		}
		bindings[p] = append(bindings[p], network.PortBinding{HostIP: hostIP, HostPort: hp})
	}
	return nil
}

// splitPortSpec splits [ip:][hostPort:]containerPort (an IPv6 address in
// brackets: [::1]:80:80); raw is the whole flag value, for errors.
func splitPortSpec(spec, raw string) (ip, hostPort, containerPort string, err error) {
	maxParts := 3
	if strings.HasPrefix(spec, "[") {
		end := strings.Index(spec, "]")
		if end < 0 {
			return "", "", "", fmt.Errorf("invalid ip address: %s", spec)
		}
		ip, spec, maxParts = spec[1:end], strings.TrimPrefix(spec[end+1:], ":"), 2
	}
	parts := strings.Split(spec, ":")
	if len(parts) > maxParts {
		return "", "", "", fmt.Errorf("invalid port format for --publish: %s", raw)
	}
	switch len(parts) {
	case 1:
		containerPort = parts[0]
	case 2:
		hostPort, containerPort = parts[0], parts[1]
	case 3:
		ip, hostPort, containerPort = parts[0], parts[1], parts[2]
	}
	return ip, hostPort, containerPort, nil
}

func parseRange(s string) (uint16, uint16, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil {
			return 0, 0, err
		}
		if end < start {
			return 0, 0, fmt.Errorf("invalid range: %s", s)
		}
	}
	return uint16(start), uint16(end), nil
}

// ParseExpose parses --expose values ("80", "80/udp", "8000-8010").
func ParseExpose(values []string, exposed network.PortSet) error {
	for _, v := range values {
		spec, proto, ok := strings.Cut(v, "/")
		if !ok {
			proto = "tcp"
		}
		start, end, err := parseRange(spec)
		if err != nil {
			return fmt.Errorf("invalid range format for --expose: %s, error: %v", v, err)
		}
		for p := uint32(start); p <= uint32(end); p++ {
			port, ok := network.PortFrom(uint16(p), network.IPProtocol(strings.ToLower(proto)))
			if !ok {
				return fmt.Errorf("invalid port for --expose: %s", v)
			}
			exposed[port] = struct{}{}
		}
	}
	return nil
}
