package containers

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

var containerConfigForTest = container.Config{Hostname: "h", Env: []string{"DB_PORT=mine"}}

func TestParseLink(t *testing.T) {
	cases := []struct{ in, name, alias string }{
		{"db:store", "db", "store"},
		{"db", "db", "db"},
		{"/db:/web/store", "db", "store"},
		{"db:x", "db", "x"},
	}
	for _, c := range cases {
		n, a, err := parseLink(c.in)
		if err != nil || n != c.name || a != c.alias {
			t.Errorf("parseLink(%q) = %q, %q, %v", c.in, n, a, err)
		}
	}
	for _, bad := range []string{"", ":x", "db:", "db:/", "db:a b", "db:x\n1.2.3.4 evil", "db:-x"} {
		if _, _, err := parseLink(bad); err == nil {
			t.Errorf("parseLink(%q) accepted", bad)
		}
	}
}

func TestLinkEnvAndHosts(t *testing.T) {
	links := []linkedContainer{{
		Name: "db1", Alias: "my-db", Hostname: "abc123", IP: "172.17.0.5",
		Env:     []string{"PATH=/bin", "HOME=/root", "PASSWORD=s=cret", "EMPTY="},
		Exposed: network.PortSet{network.MustParsePort("5432/tcp"): {}, network.MustParsePort("53/udp"): {}},
	}}
	got := linkEnv("web", links)
	want := []string{
		"MY_DB_PORT=udp://172.17.0.5:53",
		"MY_DB_PORT_53_UDP=udp://172.17.0.5:53", "MY_DB_PORT_53_UDP_ADDR=172.17.0.5", "MY_DB_PORT_53_UDP_PORT=53", "MY_DB_PORT_53_UDP_PROTO=udp",
		"MY_DB_PORT_5432_TCP=tcp://172.17.0.5:5432", "MY_DB_PORT_5432_TCP_ADDR=172.17.0.5", "MY_DB_PORT_5432_TCP_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
		"MY_DB_NAME=/web/my-db",
		"MY_DB_ENV_PASSWORD=s=cret", "MY_DB_ENV_EMPTY=",
	}
	if !slices.Equal(got, want) {
		t.Errorf("linkEnv =\n%q\nwant\n%q", got, want)
	}
	if h := linkHosts(links); !slices.Equal(h, []string{"172.17.0.5\tmy-db abc123 db1"}) {
		t.Errorf("linkHosts = %q", h)
	}
	links[0].Alias = "db1"
	if h := linkHosts(links); !slices.Equal(h, []string{"172.17.0.5\tdb1 abc123"}) {
		t.Errorf("linkHosts with alias = name: %q", h)
	}
}

func TestContainerEnvLinkOverride(t *testing.T) {
	c := &Container{Config: &containerConfigForTest}
	env := containerEnv(c, "DB_NAME=/x/db", "DB_PORT=tcp://1.2.3.4:1")
	if !slices.Contains(env, "DB_NAME=/x/db") || slices.Contains(env, "DB_PORT=tcp://1.2.3.4:1") || !slices.Contains(env, "DB_PORT=mine") {
		t.Errorf("containerEnv = %q", env)
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"db:store", "db", "/db:/web/store", ":", "a:b:c", "/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, alias, err := parseLink(s)
		if err != nil {
			return
		}
		if name == "" || alias == "" || strings.ContainsAny(alias, "/ \t\n\r") {
			t.Fatalf("parseLink(%q) = %q, %q", s, name, alias)
		}
	})
}
