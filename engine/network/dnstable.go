package network

import (
	"net/netip"
	"strconv"
	"strings"
)

// dnsTable is an immutable snapshot of the names the embedded DNS answers;
// it is swapped whole on every change so queries never take s.mu. Its
// methods are the resolver's logic, free of sockets, so they are unit-tested
// directly.
type dnsTable struct {
	nets  map[string][]dnsNet                // container ID -> its user networks, in endpoint order
	names map[string]map[string][]netip.Addr // network ID -> lower-case name -> addresses (v4 and v6)
	ptr   map[string]map[netip.Addr]string   // network ID -> address -> "name.network"
	// links are link aliases (EndpointSettings.Links "name:alias"), seen only
	// by the linking container: container ID -> network ID -> alias -> name.
	links map[string]map[string]map[string]string
	// members are the endpoints' addresses: network ID -> address ->
	// container ID (who asks, on the sandboxes' gateway resolver).
	members map[string]map[netip.Addr]string
}

type dnsNet struct{ id, name string }

func newDNSTable() *dnsTable {
	return &dnsTable{nets: map[string][]dnsNet{}, names: map[string]map[string][]netip.Addr{},
		ptr: map[string]map[netip.Addr]string{}, links: map[string]map[string]map[string]string{},
		members: map[string]map[netip.Addr]string{}}
}

// add records one endpoint of container cid on user network (nid, nname).
func (t *dnsTable) add(cid, nid, nname string, names []string, links []string, addrs ...netip.Addr) {
	t.nets[cid] = append(t.nets[cid], dnsNet{nid, strings.ToLower(nname)})
	if t.names[nid] == nil {
		t.names[nid] = map[string][]netip.Addr{}
		t.ptr[nid] = map[netip.Addr]string{}
		t.members[nid] = map[netip.Addr]string{}
	}
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		t.members[nid][a] = cid
		for _, name := range names {
			k := strings.ToLower(name)
			t.names[nid][k] = append(t.names[nid][k], a)
		}
		if len(names) > 0 {
			if _, taken := t.ptr[nid][a]; !taken {
				t.ptr[nid][a] = names[0] + "." + nname
			}
		}
	}
	for _, l := range links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		name, alias = strings.ToLower(strings.TrimPrefix(name, "/")), strings.ToLower(alias)
		if name == "" || alias == "" {
			continue
		}
		if t.links[cid] == nil {
			t.links[cid] = map[string]map[string]string{}
		}
		if t.links[cid][nid] == nil {
			t.links[cid][nid] = map[string]string{}
		}
		t.links[cid][nid][alias] = name
	}
}

// resolve answers a name for container cid as Docker's resolver does: the
// name may carry a network suffix ("web.mynet" resolves web on mynet only);
// link aliases of the asking container come first, then names; the first
// network (in endpoint order) that knows the name answers with all its
// addresses on that network. found is true when the name is known even if
// it has no address of the family asked (the answer is then "no data", not
// NXDOMAIN).
func (t *dnsTable) resolve(cid, qname string, v6 bool) (addrs []netip.Addr, found bool) {
	if t == nil {
		return nil, false
	}
	name := strings.ToLower(strings.TrimSuffix(qname, "."))
	if name == "" {
		return nil, false
	}
	// Candidates: the whole name on every network, then each split
	// "a.b.c" -> ("a.b", "c"), ("a", "b.c") restricted to network "c"/"b.c".
	type cand struct{ name, net string }
	cands := []cand{{name, ""}}
	for rest := name; ; {
		i := strings.LastIndex(rest, ".")
		if i <= 0 {
			break
		}
		rest = rest[:i]
		cands = append(cands, cand{rest, name[len(rest)+1:]})
	}
	for _, c := range cands {
		for _, alias := range []bool{true, false} {
			for _, n := range t.nets[cid] {
				if c.net != "" && c.net != n.name {
					continue
				}
				target := c.name
				if alias {
					var ok bool
					if target, ok = t.links[cid][n.id][c.name]; !ok {
						continue
					}
				}
				all, ok := t.names[n.id][target]
				if !ok {
					continue
				}
				for _, a := range all {
					if a.Is6() == v6 {
						addrs = append(addrs, a)
					}
				}
				return addrs, true
			}
		}
	}
	return nil, false
}

// reverse answers a PTR query name ("4.3.2.1.in-addr.arpa." or an
// ip6.arpa nibble name) for container cid: "name.network", or "".
func (t *dnsTable) reverse(cid, qname string) string {
	if t == nil {
		return ""
	}
	ip, ok := fromReverse(strings.ToLower(strings.TrimSuffix(qname, ".")))
	if !ok {
		return ""
	}
	for _, n := range t.nets[cid] {
		if p := t.ptr[n.id][ip]; p != "" {
			return p
		}
	}
	return ""
}

// fromReverse parses "d.c.b.a.in-addr.arpa" and the 32-nibble
// "x.x. ... .ip6.arpa" form.
func fromReverse(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		p := strings.Split(rest, ".")
		if len(p) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, s := range p {
			if len(s) == 0 || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(s, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			b[3-i] = byte(v)
		}
		return netip.AddrFrom4(b), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		p := strings.Split(rest, ".")
		if len(p) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, s := range p {
			if len(s) != 1 {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(s, 16, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			// Nibble i counts from the lowest: byte 15 - i/2, low nibble first.
			if i%2 == 0 {
				b[15-i/2] |= byte(v)
			} else {
				b[15-i/2] |= byte(v) << 4
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// member returns the container whose endpoint on network nid has address
// a, or "" when none has.
func (t *dnsTable) member(nid string, a netip.Addr) string {
	if t == nil {
		return ""
	}
	return t.members[nid][a]
}
