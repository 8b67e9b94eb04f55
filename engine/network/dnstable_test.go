package network

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func testTable() *dnsTable {
	t := newDNSTable()
	a := netip.MustParseAddr
	// web on front (v4+v6) and back; db on back; client on front and back,
	// with a link alias "store" for db on back.
	t.add("web", "n1", "front", []string{"web", "www", "aaaaaaaaaaaa"}, nil, a("10.1.0.2"), a("fd00:1::2"))
	t.add("web", "n2", "back", []string{"web", "bbbbbbbbbbbb"}, nil, a("10.2.0.2"))
	t.add("db", "n2", "back", []string{"db", "dbhost"}, nil, a("10.2.0.3"))
	t.add("client", "n1", "front", []string{"client"}, nil, a("10.1.0.9"))
	t.add("client", "n2", "back", []string{"client"}, []string{"db:store", "/web:Site"}, a("10.2.0.9"))
	t.add("lonely", "n3", "other", []string{"lonely"}, nil, a("10.3.0.2"))
	return t
}

func TestDNSResolve(t *testing.T) {
	tb := testTable()
	cases := []struct {
		cid, q string
		v6     bool
		want   []string
		found  bool
	}{
		{"client", "web", false, []string{"10.1.0.2"}, true},                // first network in endpoint order
		{"client", "WEB.", false, []string{"10.1.0.2"}, true},               // case and trailing dot
		{"client", "web", true, []string{"fd00:1::2"}, true},                // AAAA
		{"client", "web.back", false, []string{"10.2.0.2"}, true},           // name.network
		{"client", "web.front", true, []string{"fd00:1::2"}, true},          //
		{"client", "db", true, nil, true},                                   // known, no v6: no data
		{"client", "dbhost", false, []string{"10.2.0.3"}, true},             // hostname in DNSNames
		{"client", "store", false, []string{"10.2.0.3"}, true},              // link alias
		{"client", "store.back", false, []string{"10.2.0.3"}, true},         // link alias with network
		{"client", "site", false, []string{"10.2.0.2"}, true},               // alias case-insensitive, name "/web"
		{"web", "store", false, nil, false},                                 // links are the linker's only
		{"client", "db.front", false, nil, false},                           // db is not on front
		{"client", "lonely", false, nil, false},                             // other network
		{"client", "web.nosuch", false, nil, false},                         //
		{"client", "example.com", false, nil, false},                        // forwarded
		{"nobody", "web", false, nil, false},                                // unknown container
		{"client", "", false, nil, false},                                   //
		{"client", ".", false, nil, false},                                  //
		{"client", "aaaaaaaaaaaa.front", false, []string{"10.1.0.2"}, true}, // short ID
	}
	for _, c := range cases {
		got, found := tb.resolve(c.cid, c.q, c.v6)
		var gs []string
		for _, a := range got {
			gs = append(gs, a.String())
		}
		if found != c.found || !slices.Equal(gs, c.want) {
			t.Errorf("resolve(%s, %q, v6=%v) = %v, %v; want %v, %v", c.cid, c.q, c.v6, gs, found, c.want, c.found)
		}
	}
	var nilTable *dnsTable
	if _, found := nilTable.resolve("x", "web", false); found {
		t.Error("nil table resolved a name")
	}
}

func TestDNSReverse(t *testing.T) {
	tb := testTable()
	cases := []struct{ cid, q, want string }{
		{"client", "2.0.1.10.in-addr.arpa.", "web.front"},
		{"client", "3.0.2.10.in-addr.arpa", "db.back"},
		{"client", "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa.", "web.front"},
		{"client", "2.0.3.10.in-addr.arpa.", ""}, // not on the asker's networks
		{"web", "3.0.2.10.in-addr.arpa.", "db.back"},
		{"client", "9.9.9.9.in-addr.arpa.", ""},
		{"client", "web", ""},
	}
	for _, c := range cases {
		if got := tb.reverse(c.cid, c.q); got != c.want {
			t.Errorf("reverse(%s, %q) = %q, want %q", c.cid, c.q, got, c.want)
		}
	}
}

func TestFromReverse(t *testing.T) {
	for _, ip := range []string{"10.1.2.3", "255.0.0.1", "fd00:1::2", "2001:db8::ff00:42:8329", "::1"} {
		a := netip.MustParseAddr(ip)
		got, ok := fromReverse(reverseName(a))
		if !ok || got != a {
			t.Errorf("fromReverse(%s) = %v, %v", reverseName(a), got, ok)
		}
	}
	for _, bad := range []string{"1.2.3.in-addr.arpa", "256.1.2.3.in-addr.arpa", "01.1.2.3.in-addr.arpa", "x.ip6.arpa", "1.2.3.4.ip6.arpa", "a.b.c.d.in-addr.arpa", ""} {
		if _, ok := fromReverse(bad); ok {
			t.Errorf("fromReverse(%q) accepted", bad)
		}
	}
}

// reverseName is the PTR query name of a, built independently of fromReverse.
func reverseName(a netip.Addr) string {
	const hex = "0123456789abcdef"
	if a.Is4() {
		b := a.As4()
		return netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]}).String() + ".in-addr.arpa"
	}
	b := a.As16()
	s := ""
	for i := 15; i >= 0; i-- {
		s += string(hex[b[i]&0xf]) + "." + string(hex[b[i]>>4]) + "."
	}
	return s + "ip6.arpa"
}

func FuzzFromReverse(f *testing.F) {
	f.Add("4.3.2.1.in-addr.arpa")
	f.Add(reverseName(netip.MustParseAddr("fd00::1")))
	f.Fuzz(func(t *testing.T, name string) {
		a, ok := fromReverse(name)
		if ok && fromReverseCheck(a) != nil {
			t.Fatalf("invalid address from %q", name)
		}
		if ok {
			if b, ok2 := fromReverse(reverseName(a)); !ok2 || b != a {
				t.Fatalf("round trip of %v failed", a)
			}
		}
	})
}

func fromReverseCheck(a netip.Addr) error {
	if !a.IsValid() {
		return errInvalid
	}
	return nil
}

var errInvalid = errors.New("invalid address")

// TestDNSMember: the gateway resolver of sandboxed containers answers only
// endpoints of its own network.
func TestDNSMember(t *testing.T) {
	tb := testTable()
	a := netip.MustParseAddr
	for _, tc := range []struct {
		nid, addr, want string
	}{
		{"n1", "10.1.0.2", "web"},
		{"n1", "fd00:1::2", "web"},
		{"n2", "10.2.0.9", "client"},
		{"n1", "10.2.0.9", ""}, // client's address on another network
		{"n3", "10.1.0.2", ""}, // web is not on n3
		{"n1", "10.1.0.1", ""}, // the gateway itself
		{"n9", "10.1.0.2", ""}, // unknown network
	} {
		if got := tb.member(tc.nid, a(tc.addr)); got != tc.want {
			t.Errorf("member(%s, %s) = %q, want %q", tc.nid, tc.addr, got, tc.want)
		}
	}
	var nilTable *dnsTable
	if got := nilTable.member("n1", a("10.1.0.2")); got != "" {
		t.Errorf("nil table: member = %q", got)
	}
}
