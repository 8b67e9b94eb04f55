package e2e

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFiltersApplied drives issue 12.1 and 10.4 through the docker CLI: every
// ps filter selects what it names (an ignored one matched everything, so
// `rm -f $(ps -aq --filter volume=X)` removed every container), prune
// filters keep what they exclude, and an unknown key or a bad value is an
// error naming it, with nothing removed.
func TestFiltersApplied(t *testing.T) {
	d := startDaemon(t) // its own: prune removes everything unused
	c := d.Docker(t)
	sub, gw := netSubnet(d, 0)
	c.Must(t, "volume", "create", "fv")
	createNet(t, c, "fnet", "--subnet", sub, "--gateway", gw)
	ids := map[string]string{}
	create := func(name string, args ...string) {
		ids[name] = c.Must(t, append(append([]string{"create", "--name", name}, args...), "busybox", "true")...)[:12]
	}
	create("f-vol", "-v", "fv:/data")
	create("f-pub", "-p", "127.0.0.1::80", "--expose", "9000")
	create("f-net", "--network", "fnet")
	create("f-two")
	c.Must(t, "network", "connect", "fnet", "f-two")
	create("f-keep", "-l", "keep=yes")
	t.Cleanup(func() { c.Run(t, "rm", "-f", "f-vol", "f-pub", "f-net", "f-two", "f-keep") })

	psq := func(args ...string) string {
		t.Helper()
		out := c.Must(t, append([]string{"ps", "-aq"}, args...)...)
		got := strings.Fields(out)
		sort.Strings(got)
		return strings.Join(got, " ")
	}
	want := func(names ...string) string {
		var out []string
		for _, n := range names {
			out = append(out, ids[n])
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	all := want("f-vol", "f-pub", "f-net", "f-two", "f-keep")
	for _, tc := range []struct {
		filter string
		want   string
	}{
		{"volume=fv", want("f-vol")},
		{"volume=/data", want("f-vol")},
		{"volume=nosuchvolume", ""},
		{"publish=80", want("f-pub")},
		{"publish=80/tcp", want("f-pub")},
		{"publish=80/udp", ""},
		{"publish=81", ""},
		{"expose=9000", want("f-pub")},
		{"expose=8000-9999", want("f-pub")},
		{"expose=1234", ""},
		{"is-task=true", ""},
		{"is-task=false", all},
		{"network=fnet", want("f-net", "f-two")},
		{"network=bridge", want("f-vol", "f-pub", "f-two", "f-keep")},
		{"isolation=default", all},
		{"label=keep=yes", want("f-keep")},
	} {
		if got := psq("--filter", tc.filter); got != tc.want {
			t.Errorf("ps -aq --filter %s = [%s], want [%s]", tc.filter, got, tc.want)
		}
	}
	for _, tc := range []struct{ args, msg string }{
		{"ps -aq --filter bogus=1", "invalid filter 'bogus'"},
		{"ps -aq --filter publish=http", "publish=http"},
		{"ps -aq --filter is-task=maybe", "is-task=maybe"},
		{"container prune -f --filter until=soon", "until=soon"},
		{"container prune -f --filter bogus=1", "invalid filter 'bogus'"},
		{"image prune -a -f --filter until=yesterday", "until=yesterday"},
		{"image prune -f --filter reference=x", "invalid filter 'reference'"},
		{"network prune -f --filter until=later", "until=later"},
		{"volume prune -f --filter until=24h", "invalid filter 'until'"},
		{"builder prune -f --filter bogus=1", "invalid filter 'bogus'"},
		{"images --filter bogus=1", "invalid filter 'bogus'"},
		{"network ls --filter bogus=1", "invalid filter 'bogus'"},
		{"volume ls --filter bogus=1", "invalid filter 'bogus'"},
	} {
		r := c.Run(t, strings.Fields(tc.args)...)
		if r.Exit == 0 || !strings.Contains(r.Stderr, tc.msg) {
			t.Errorf("docker %s: want an error naming %q, got %s", tc.args, tc.msg, r)
		}
	}
	if got := psq(); got != all {
		t.Fatalf("a refused prune removed containers: [%s], want [%s]", got, all)
	}

	// Prune filters select; they are not dropped. Everything here was
	// created seconds ago.
	c.Must(t, "commit", "f-two", "fimg:1")
	sub2, _ := netSubnet(d, 1)
	c.Must(t, "network", "create", "--subnet", sub2, "fnet2")
	t.Cleanup(func() { c.Run(t, "network", "rm", "fnet2") })
	for _, args := range []string{
		"container prune -f --filter until=24h",
		"container prune -f --filter until=2020-01-01T00:00:00",
		"container prune -f --filter until=1577836800.5",
		"container prune -f --filter label=nosuchlabel",
		"image prune -a -f --filter until=2020-01-01T00:00:00",
		"image prune -a -f --filter until=2020-01-01",
		"image prune -a -f --filter until=24h",
		"network prune -f --filter until=24h",
		"network prune -f --filter label=nosuchlabel",
		"volume prune -a -f --filter label=nosuchlabel",
	} {
		c.Must(t, strings.Fields(args)...)
	}
	if got := psq(); got != all {
		t.Errorf("filtered container prunes removed containers: [%s], want [%s]", got, all)
	}
	if r := c.Run(t, "image", "inspect", "fimg:1"); r.Exit != 0 {
		t.Errorf("image prune --filter until=<past> removed a new image: %s", r)
	}
	if r := c.Run(t, "network", "inspect", "fnet2"); r.Exit != 0 {
		t.Errorf("network prune --filter until=24h removed a new network: %s", r)
	}
	if r := c.Run(t, "volume", "inspect", "fv"); r.Exit != 0 {
		t.Errorf("volume prune --filter label=nosuchlabel removed fv: %s", r)
	}

	// label! keeps what carries the label and removes the rest.
	c.Must(t, "container", "prune", "-f", "--filter", "label!=keep")
	if got := psq(); got != want("f-keep") {
		t.Errorf("container prune --filter label!=keep left [%s], want [%s]", got, want("f-keep"))
	}
	// until takes whole seconds (as Docker's does): until=0s keeps what
	// was made within the current second, so the time is an hour ahead.
	later := "until=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	c.Must(t, "image", "prune", "-a", "-f", "--filter", later)
	if r := c.Run(t, "image", "inspect", "fimg:1"); r.Exit == 0 {
		t.Errorf("image prune -a --filter %s kept an unused image", later)
	}
}
