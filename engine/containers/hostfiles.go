package containers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	netpkg "github.com/berth-dev/berth/engine/network"
	"github.com/berth-dev/berth/internal/errdefs"
)

// Paths of the files berthd bind-mounts over the container's /etc.
func hostnamePath(c *Container) string   { return filepath.Join(c.Dir, "hostname") }
func hostsPath(c *Container) string      { return filepath.Join(c.Dir, "hosts") }
func resolvConfPath(c *Container) string { return filepath.Join(c.Dir, "resolv.conf") }

// writeHostFiles writes /etc/hostname, /etc/hosts and /etc/resolv.conf for a
// container, as Docker does for its network mode; att (nil before the first
// start) adds the container's addresses and the embedded DNS server.
// The files are not synced: every start writes them again (prepareRun),
// so a machine crash cannot make a stale or torn copy matter, and create
// spares three disk flushes.
func writeHostFiles(c *Container, att *netpkg.Attachment, hostGateway netip.Addr) error {
	if err := writeHostFile(hostnamePath(c), []byte(c.Config.Hostname+"\n")); err != nil {
		return err
	}
	hosts, err := renderHosts(c, att, hostGateway)
	if err != nil {
		return err
	}
	if err := writeHostFile(hostsPath(c), hosts); err != nil {
		return err
	}
	return writeHostFile(resolvConfPath(c), renderResolvConf(c, att))
}

// writeHostFile writes one of a container's host files, mode 0644: made
// in place on its first start (nothing can read a file that was not
// there), replaced by a rename on the next ones (writeFileReplace).
func writeHostFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return writeFileReplace(path, data, 0o644)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // whatever berthd's umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// rewriteNetFiles writes /etc/hosts and /etc/resolv.conf again for att,
// in place: a container prepared ahead has them bind-mounted already.
func rewriteNetFiles(c *Container, att *netpkg.Attachment, hostGateway netip.Addr) error {
	hosts, err := renderHosts(c, att, hostGateway)
	if err != nil {
		return err
	}
	if err := writeFileInPlace(hostsPath(c), hosts); err != nil {
		return err
	}
	return writeFileInPlace(resolvConfPath(c), renderResolvConf(c, att))
}

// renderHosts is the container's /etc/hosts.
func renderHosts(c *Container, att *netpkg.Attachment, hostGateway netip.Addr) ([]byte, error) {
	cfg, hc := c.Config, c.HostConfig
	var hosts bytes.Buffer
	if hc.NetworkMode == "host" {
		data, err := os.ReadFile("/etc/hosts")
		if err == nil {
			hosts.Write(data)
		}
	} else {
		hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
		if att != nil {
			for _, line := range att.HostsEntries {
				hosts.WriteString(withDomainname(line, cfg.Hostname, cfg.Domainname) + "\n")
			}
		}
	}
	for _, h := range hc.ExtraHosts {
		name, ip, err := parseExtraHost(h)
		if err != nil {
			return nil, errdefs.Invalid("%s", err.Error())
		}
		if ip == hostGatewayName {
			if !hostGateway.IsValid() {
				return nil, errdefs.Invalid("unable to derive the IP value for host-gateway")
			}
			ip = hostGateway.String()
		}
		fmt.Fprintf(&hosts, "%s\t%s\n", ip, name)
	}
	return hosts.Bytes(), nil
}

// renderResolvConf is the container's /etc/resolv.conf.
func renderResolvConf(c *Container, att *netpkg.Attachment) []byte {
	hc := c.HostConfig
	var embedded []string
	if att != nil {
		embedded = att.Nameservers
	}
	return resolvConf(hc.DNS, hc.DNSSearch, hc.DNSOptions, hc.NetworkMode == "host", embedded)
}

// writeFileInPlace replaces the content of an existing file, keeping its
// inode (which a container may have bind-mounted). A file that holds data
// already is left as it is (a start rewrites resolv.conf unchanged, as a
// rule). Otherwise data is written over the old content and the file cut
// to its length, not truncated to nothing first: ext4 flushes a file
// truncated to nothing as it is closed (auto_da_alloc), a disk request for
// each start.
func writeFileInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	old := make([]byte, len(data)+1)
	n, _ := io.ReadFull(f, old) // a read error: write all the same
	if n == len(data) && bytes.Equal(old[:n], data) {
		return f.Close()
	}
	_, err = f.WriteAt(data, 0)
	if err == nil && n > len(data) { // the old content was longer
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// withDomainname turns the container's own hosts line "IP\thost ..."
// into "IP\thost.domain host ..." when --domainname is set, as Docker
// writes it (so `hostname -f` resolves).
func withDomainname(line, hostname, domainname string) string {
	if domainname == "" || hostname == "" {
		return line
	}
	ip, names, ok := strings.Cut(line, "\t")
	if !ok {
		return line
	}
	f := strings.Fields(names)
	if len(f) == 0 || f[0] != hostname {
		return line
	}
	return ip + "\t" + hostname + "." + domainname + " " + strings.Join(f, " ")
}

// hostGatewayName in --add-host stands for the host's address as seen
// from containers (the default bridge's gateway or host-gateway-ip).
const hostGatewayName = "host-gateway"

// CheckExtraHost checks an --add-host entry as container create will: a
// builder checks its RUN containers' entries before the build starts.
func CheckExtraHost(h string) error {
	if _, _, err := parseExtraHost(h); err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	return nil
}

// parseExtraHost splits an --add-host entry, "name:ip" or "name=ip" (the
// docker CLI sends the latter for IPv6 addresses), and checks the address,
// as dockerd does at create.
func parseExtraHost(h string) (name, ip string, err error) {
	name, ip, ok := strings.Cut(h, "=")
	if !ok {
		name, ip, ok = strings.Cut(h, ":")
	}
	if !ok || name == "" {
		return "", "", fmt.Errorf("bad format for add-host: %q", h)
	}
	if ip == hostGatewayName {
		return name, ip, nil
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if _, err := netip.ParseAddr(ip); err != nil {
		return "", "", fmt.Errorf("invalid IP address in add-host: %q", ip)
	}
	return name, ip, nil
}

// resolvConf builds the container's resolv.conf from the host's, dropping
// loopback resolvers (unreachable from a container's own network namespace)
// unless the container shares the host's network, as Docker does.
func resolvConf(dns []netip.Addr, search, options []string, hostNet bool, embedded []string) []byte {
	var servers, hostSearch, hostOptions []string
	if f, err := os.Open("/etc/resolv.conf"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			switch fields[0] {
			case "nameserver":
				ip, err := netip.ParseAddr(fields[1])
				if err != nil || (!hostNet && ip.IsLoopback()) {
					continue
				}
				servers = append(servers, fields[1])
			case "search", "domain":
				hostSearch = fields[1:]
			case "options":
				hostOptions = append(hostOptions, fields[1:]...)
			}
		}
		f.Close()
	}
	if len(dns) > 0 {
		servers = nil
		for _, a := range dns {
			servers = append(servers, a.String())
		}
	}
	if len(embedded) > 0 {
		// The embedded DNS server answers container names and forwards the
		// rest (to --dns servers or the host's), as on Docker's user networks.
		servers = embedded
		hostOptions = append([]string{"ndots:0"}, hostOptions...)
	}
	if len(servers) == 0 && !hostNet {
		// Docker's fallback when the host has only loopback resolvers.
		servers = []string{"8.8.8.8", "8.8.4.4"}
	}
	if len(search) > 0 {
		hostSearch = search
	}
	if len(options) > 0 {
		hostOptions = options
	}
	var b bytes.Buffer
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(hostSearch) > 0 && !(len(hostSearch) == 1 && hostSearch[0] == ".") {
		fmt.Fprintf(&b, "search %s\n", strings.Join(hostSearch, " "))
	}
	if len(hostOptions) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(hostOptions, " "))
	}
	return b.Bytes()
}

// writeFileReplace writes data to path through a temp file and a rename,
// without an fsync, for files made again before they are next needed (on
// every start, or on the exec-root, which a machine crash empties):
// readers see the old file or the new one.
func writeFileReplace(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil { // renamed, it is gone already: no unlink on success
		os.Remove(tmp.Name())
	}
	return err
}
