package network

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/moby/moby/api/types/network"
	"golang.org/x/sys/unix"
)

func itoa(i int) string { return strconv.Itoa(i) }

// hostPortRange parses a binding's HostPort: "" (any free port: 0,0),
// "8080" or "8080-8090" (the first free one in the range).
func hostPortRange(s string) (lo, hi uint16, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, 0, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	x, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, errdefs.Invalid("invalid host port %q", s)
	}
	if !isRange {
		return uint16(x), uint16(x), nil
	}
	y, err := strconv.ParseUint(b, 10, 16)
	if err != nil || y < x {
		return 0, 0, errdefs.Invalid("invalid host port range %q", s)
	}
	return uint16(x), uint16(y), nil
}

// portSpec is one requested publication before a host port is chosen.
type portSpec struct {
	Port           network.Port
	HostIP         netip.Addr
	HostLo, HostHi uint16
	// Dual: no host address was given, so the port is published on every
	// IPv6 address too when the network has IPv6 (Docker's 0.0.0.0 + ::).
	Dual bool
}

// portSpecs expands PortBindings and, with PublishAll, every exposed port
// without a binding, in a stable order. Exposed ports with no binding are
// returned separately (inspect shows them as null). IPv6 host addresses
// are kept; publishLocked refuses them on networks without IPv6.
func portSpecs(bindings network.PortMap, publishAll bool, exposed network.PortSet, defaultIP netip.Addr) ([]portSpec, []network.Port, error) {
	keys := map[network.Port]bool{}
	for p := range bindings {
		keys[p] = true
	}
	var onlyExposed []network.Port
	for p := range exposed {
		if _, ok := bindings[p]; ok {
			continue
		}
		if publishAll {
			keys[p] = true
		} else {
			onlyExposed = append(onlyExposed, p)
		}
	}
	ports := make([]network.Port, 0, len(keys))
	for p := range keys {
		ports = append(ports, p)
	}
	less := func(a, b network.Port) bool {
		if a.Num() != b.Num() {
			return a.Num() < b.Num()
		}
		return a.Proto() < b.Proto()
	}
	sort.Slice(ports, func(i, j int) bool { return less(ports[i], ports[j]) })
	sort.Slice(onlyExposed, func(i, j int) bool { return less(onlyExposed[i], onlyExposed[j]) })
	var out []portSpec
	for _, p := range ports {
		switch p.Proto() {
		case network.TCP, network.UDP, network.SCTP:
		default:
			return nil, nil, errdefs.Invalid("invalid proto %q for port %d: want tcp, udp or sctp", p.Proto(), p.Num())
		}
		bs := bindings[p]
		if len(bs) == 0 {
			bs = []network.PortBinding{{}}
		}
		for _, b := range bs {
			ip, dual := b.HostIP, false
			if !ip.IsValid() {
				ip, dual = defaultIP, defaultIP.Is4() && defaultIP.IsUnspecified()
			}
			ip = ip.Unmap()
			lo, hi, err := hostPortRange(b.HostPort)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, portSpec{Port: p, HostIP: ip, HostLo: lo, HostHi: hi, Dual: dual})
		}
	}
	return out, onlyExposed, nil
}

// reservation holds a host port so no other program (or container) binds
// it while it is published: Docker's "port is already allocated".
type reservation struct{ fd int }

func (r *reservation) Close() error { return unix.Close(r.fd) }

// reservePort binds proto hostIP:port (port 0: a free port the kernel
// picks from the ephemeral range) without listening, and returns the port.
func reservePort(proto string, hostIP netip.Addr, port uint16) (io.Closer, uint16, error) {
	if proto == "sctp" {
		if port == 0 {
			return nil, 0, errdefs.Invalid("sctp ports need an explicit host port")
		}
		return nil, port, nil
	}
	typ := unix.SOCK_STREAM
	if proto == "udp" {
		typ = unix.SOCK_DGRAM
	}
	family := unix.AF_INET
	if hostIP.Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("reserve host port: %w", err)
	}
	var sa unix.Sockaddr
	if hostIP.Is4() {
		sa = &unix.SockaddrInet4{Port: int(port), Addr: hostIP.As4()}
	} else {
		// [::] holds the IPv6 port only; 0.0.0.0 is reserved on its own.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return nil, 0, err
		}
		sa = &unix.SockaddrInet6{Port: int(port), Addr: hostIP.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, 0, err
	}
	if port == 0 {
		got, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return nil, 0, err
		}
		switch a := got.(type) {
		case *unix.SockaddrInet4:
			port = uint16(a.Port)
		case *unix.SockaddrInet6:
			port = uint16(a.Port)
		}
	}
	return &reservation{fd: fd}, port, nil
}

// bindSpec reserves a host port for one spec, trying each port of a range.
func bindSpec(sp portSpec) (io.Closer, uint16, error) {
	proto := string(sp.Port.Proto())
	var lastErr error
	for p := uint32(sp.HostLo); p <= uint32(sp.HostHi); p++ {
		c, got, err := reservePort(proto, sp.HostIP, uint16(p))
		if err == nil {
			return c, got, nil
		}
		lastErr = err
	}
	if errors.Is(lastErr, unix.EADDRINUSE) {
		what := itoa(int(sp.HostLo))
		if sp.HostHi != sp.HostLo {
			what += "-" + itoa(int(sp.HostHi))
		}
		return nil, 0, fmt.Errorf("Bind for %s:%s failed: port is already allocated", sp.HostIP, what)
	}
	return nil, 0, fmt.Errorf("failed to bind host port %s:%d/%s: %w", sp.HostIP, sp.HostLo, proto, os.NewSyscallError("bind", lastErr))
}
