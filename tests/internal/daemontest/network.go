package daemontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berth-dev/berth/engine/network"
)

// Subnets for the tests' bridges are picked the way the daemon's IPAM
// picks one for a new network: a /24 under 10.0.0.0/8 that overlaps no
// subnet the host routes (network.HostSubnets: Docker's bridges, another
// berthd's, another test run's), and none handed out earlier in this run.
// The search starts at an offset from the pid, so test binaries running
// side by side start far apart.
var (
	subnetMu   sync.Mutex
	subnetNext = (100 + os.Getpid()%150) << 8 // index of the /24 within 10/8
	handedOut  []netip.Prefix
)

// FreeSubnet returns a free /24 and its first host address (the gateway).
func FreeSubnet() (netip.Prefix, netip.Addr, error) {
	subnetMu.Lock()
	defer subnetMu.Unlock()
	used := append(network.HostSubnets(), handedOut...)
	for i := 0; i < 1<<16; i++ {
		n := subnetNext
		subnetNext = (subnetNext + 1) % (1 << 16)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 8), byte(n), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			handedOut = append(handedOut, p)
			return p, p.Addr().Next(), nil
		}
	}
	return netip.Prefix{}, netip.Addr{}, fmt.Errorf("no free /24 left in 10.0.0.0/8 on this host")
}

// netfilterTables are the (command, table) pairs a daemon may put chains in.
var netfilterTables = [][2]string{{"iptables", "filter"}, {"iptables", "nat"}, {"iptables", "raw"}, {"iptables", "mangle"},
	{"ip6tables", "filter"}, {"ip6tables", "nat"}, {"ip6tables", "raw"}, {"ip6tables", "mangle"}}

// ChainsWithPrefix lists the host's netfilter chains whose name starts with
// prefix, as "command table chain".
func ChainsWithPrefix(prefix string) []string {
	var out []string
	for _, tt := range netfilterTables {
		b, err := exec.Command(tt[0], "-t", tt[1], "-S").Output()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "-N" && strings.HasPrefix(f[1], prefix) {
				out = append(out, tt[0]+" "+tt[1]+" "+f[1])
			}
		}
	}
	return out
}

// LinksWithPrefix lists the host's network interfaces whose name starts
// with prefix.
func LinksWithPrefix(prefix string) []string {
	ents, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// RemoveNetwork deletes a daemon's bridge and its netfilter chains (those
// named prefix or prefix-*, with the jumps to them from other chains), so a
// test leaves the host's network as it found it.
func RemoveNetwork(bridge, prefix string) {
	exec.Command("ip", "link", "del", bridge).Run()
	isOurs := func(name string) bool {
		return name == prefix || strings.HasPrefix(name, prefix+"-")
	}
	for _, tt := range netfilterTables {
		bin, table := tt[0], tt[1]
		out, err := exec.Command(bin, "-t", table, "-S").Output()
		if err != nil {
			continue
		}
		var chains []string
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch {
			case f[0] == "-N" && isOurs(f[1]):
				chains = append(chains, f[1])
			case f[0] == "-A" && !isOurs(f[1]):
				for i := 2; i+1 < len(f); i++ {
					if f[i] == "-j" && isOurs(f[i+1]) {
						exec.Command(bin, append([]string{"-t", table, "-D"}, f[1:]...)...).Run()
					}
				}
			}
		}
		for _, c := range chains {
			exec.Command(bin, "-t", table, "-F", c).Run()
		}
		for _, c := range chains {
			exec.Command(bin, "-t", table, "-X", c).Run()
		}
	}
}

// predefinedNetworks are the networks every daemon has; they cannot be
// removed.
var predefinedNetworks = map[string]bool{"bridge": true, "host": true, "none": true}

// RemoveUserNetworks removes every network the daemon behind client has
// besides the predefined ones (tests create networks and do not always
// remove them; the daemon keeps their bridges when it stops, as dockerd
// does). Run it once no container is left. It returns what failed.
func RemoveUserNetworks(client *http.Client) []string {
	resp, err := client.Get("http://berth/networks")
	if err != nil {
		return []string{fmt.Sprintf("GET /networks: %v", err)}
	}
	defer resp.Body.Close()
	var list []struct{ Id, Name string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return []string{fmt.Sprintf("GET /networks: %v", err)}
	}
	var failed []string
	for _, n := range list {
		if predefinedNetworks[n.Name] {
			continue
		}
		if err := Delete(client, "/networks/"+n.Id); err != nil {
			failed = append(failed, fmt.Sprintf("%v (network %s)", err, n.Name))
		}
	}
	return failed
}

// Delete sends DELETE path (e.g. /containers/ID?force=1) through client;
// 204 and 404 (already gone) are success.
func Delete(client *http.Client, path string) error {
	req, err := http.NewRequest("DELETE", "http://berth"+path, nil)
	if err != nil {
		return err
	}
	r, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("DELETE %s: %v", path, err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNoContent && r.StatusCode != http.StatusNotFound {
		return fmt.Errorf("DELETE %s: HTTP %d", path, r.StatusCode)
	}
	return nil
}

// RemoveUserBridges deletes the host's bridges, other than own, whose name
// the store file db holds, and returns their names: the bridges of the
// daemon's user networks (the network store records each one's bridge
// name, and a removed network's record usually stays readable in the
// file's freed pages). The daemon must be stopped: the file is read as
// plain bytes.
func RemoveUserBridges(db, own string) []string {
	data, err := os.ReadFile(db)
	if err != nil {
		return nil
	}
	ents, _ := os.ReadDir("/sys/class/net")
	var out []string
	for _, e := range ents {
		name := e.Name()
		if name == own {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", name, "bridge")); err != nil {
			continue
		}
		if bytes.Contains(data, []byte(`"`+name+`"`)) {
			exec.Command("ip", "link", "del", name).Run()
			out = append(out, name)
		}
	}
	return out
}
