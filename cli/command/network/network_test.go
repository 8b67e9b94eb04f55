package network

import (
	"encoding/json"
	"fmt"
	"github.com/berth-dev/berth/cli/internal/clitest"
	"github.com/berth-dev/berth/cli/opts"
	"io"
	"net/http"
	"strings"
	"testing"
)

func newFakeDaemon(t *testing.T, routes map[string]http.HandlerFunc) *clitest.FakeDaemon {
	return clitest.NewFakeDaemon(t, routes)
}

var (
	apiError = clitest.APIError
	reply    = clitest.Reply
)

// run executes `network args...` as berth does and returns exit code, stdout
// and stderr.
func run(t *testing.T, host, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, host, stdin, NewNetworkCommand, args...)
}

const netList = `[
 {"Name":"net10","Id":"aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111","Created":"2026-01-02T03:04:05Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"Internal":true,"Labels":{"b":"2","a":"1"}},
 {"Name":"bridge","Id":"bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222","Created":"2026-01-02T03:04:05Z","Scope":"local","Driver":"bridge","EnableIPv4":true},
 {"Name":"net2","Id":"cccccccccccc3333333333333333333333333333333333333333333333333333","Created":"2026-01-02T03:04:05Z","Scope":"local","Driver":"null"}
]`

func TestList(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{"GET /networks": reply(200, netList)})

	code, out, errs := run(t, d.Host, "", "ls")
	want := "NETWORK ID     NAME      DRIVER    SCOPE\n" +
		"bbbbbbbbbbbb   bridge    bridge    local\n" +
		"cccccccccccc   net2      null      local\n" +
		"aaaaaaaaaaaa   net10     bridge    local\n"
	if code != 0 || out != want {
		t.Fatalf("ls: exit %d stderr %q\n got:\n%s\nwant:\n%s", code, errs, out, want)
	}

	_, out, _ = run(t, d.Host, "", "ls", "-q", "--no-trunc")
	if out != "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222\ncccccccccccc3333333333333333333333333333333333333333333333333333\naaaaaaaaaaaa1111111111111111111111111111111111111111111111111111\n" {
		t.Fatalf("ls -q --no-trunc:\n%s", out)
	}

	// A custom format wins over -q, as in docker.
	_, out, _ = run(t, d.Host, "", "ls", "-q", "--format", `{{.Name}} {{.Labels}} {{.Label "a"}} {{.Internal}} {{.IPv4}} {{.IPv6}}`)
	if !strings.Contains(out, "net10 a=1,b=2 1 true true false\n") {
		t.Fatalf("ls --format:\n%s", out)
	}

	_, out, _ = run(t, d.Host, "", "ls", "--format", "json")
	var first map[string]string
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatalf("ls --format json: %v\n%s", err, out)
	}
	if first["ID"] != "bbbbbbbbbbbb" || first["Name"] != "bridge" || first["Scope"] != "local" || first["Internal"] != "false" || first["CreatedAt"] != "2026-01-02 03:04:05 +0000 UTC" || len(first) != 9 {
		t.Fatalf("json row: %v", first)
	}

	// Filters go to the daemon as docker's JSON query parameter.
	run(t, d.Host, "", "ls", "--filter", "driver=bridge", "-f", "Name=net")
	reqs := d.Requests()
	q := reqs[len(reqs)-1].Query
	if !strings.Contains(q, "filters=") || !strings.Contains(q, "driver") || !strings.Contains(q, "%22name%22") {
		t.Fatalf("filter query: %s", q)
	}

	code, _, errs = run(t, d.Host, "", "ls", "--filter", "bogus")
	if code != 125 || !strings.HasPrefix(errs, `invalid argument "bogus" for "-f, --filter" flag: bad format of filter (expected name=value)`) {
		t.Fatalf("bad filter: exit %d %q", code, errs)
	}
	code, _, errs = run(t, d.Host, "", "ls", "extra")
	if code != 1 || !strings.Contains(errs, "accepts no arguments") {
		t.Fatalf("ls extra: exit %d %q", code, errs)
	}
}

func TestCreate(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"POST /networks/create": reply(201, `{"Id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","Warning":""}`),
	})
	code, out, errs := run(t, d.Host, "", "create", "-d", "macvlan", "--subnet", "10.9.0.0/16", "--subnet", "10.8.0.0/24",
		"--gateway", "10.9.0.1", "--ip-range", "10.9.1.0/24", "--aux-address", "host=10.9.0.5", "--internal", "--attachable",
		"--ipv6", "--label", "a=b", "--label", "c", "-o", "mtu=1400", "--scope", "local", "--ipam-opt", "k=v", "mynet")
	if code != 0 || out != "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" {
		t.Fatalf("create: exit %d %q %q", code, out, errs)
	}
	reqs := d.Requests()
	var body map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(body)
	want := `{"Attachable":true,"ConfigFrom":null,"ConfigOnly":false,"Driver":"macvlan","EnableIPv6":true,"IPAM":{"Config":[{"AuxiliaryAddresses":{"host":"10.9.0.5"},"Gateway":"10.9.0.1","IPRange":"10.9.1.0/24","Subnet":"10.9.0.0/16"},{"Subnet":"10.8.0.0/24"}],"Driver":"default","Options":{"k":"v"}},"Ingress":false,"Internal":true,"Labels":{"a":"b","c":""},"Name":"mynet","Options":{"mtu":"1400"},"Scope":"local"}`
	if string(got) != want {
		t.Fatalf("create body:\n got %s\nwant %s", got, want)
	}
	if _, ok := body["EnableIPv4"]; ok {
		t.Fatalf("EnableIPv4 sent although --ipv4 was not given: %s", got)
	}

	// Defaults: bridge driver, nothing else set.
	run(t, d.Host, "", "create", "plain")
	reqs = d.Requests()
	body = nil
	json.Unmarshal(reqs[len(reqs)-1].Body, &body)
	if body["Driver"] != "bridge" || body["Name"] != "plain" || body["EnableIPv6"] != nil || body["Internal"] != false {
		t.Fatalf("default create body: %s", reqs[len(reqs)-1].Body)
	}

	n := len(d.Requests())
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--gateway", "10.0.0.1"}, "every ip-range or gateway must have a corresponding subnet"},
		{[]string{"--subnet", "10.1.0.0/16", "--subnet", "10.1.2.0/24"}, "multiple overlapping subnet configuration is not supported"},
		{[]string{"--subnet", "10.1.0.0/16", "--gateway", "10.2.0.1"}, "no matching subnet for gateway 10.2.0.1"},
		{[]string{"--subnet", "10.1.0.0/16", "--ip-range", "10.2.0.0/24"}, "no matching subnet for range 10.2.0.0/24"},
		{[]string{"--subnet", "10.1.0.0/16", "--aux-address", "a=10.3.0.1"}, "no matching subnet for aux-address 10.3.0.1"},
		{[]string{"--subnet", "10.1.0.0/16", "--ip-range", "foo"}, "invalid CIDR address: foo"},
		{[]string{"--subnet", "foo"}, `netip.ParsePrefix("foo"): no '/'`},
	} {
		code, _, errs := run(t, d.Host, "", append(append([]string{"create"}, tc.args...), "x")...)
		if code != 1 || errs != tc.err+"\n" {
			t.Errorf("create %v: exit %d %q, want %q", tc.args, code, errs, tc.err)
		}
	}
	if len(d.Requests()) != n {
		t.Fatalf("invalid IPAM flags still reached the daemon")
	}
	code, _, errs = run(t, d.Host, "", "create")
	if code != 1 || !strings.Contains(errs, "'berth network create' requires 1 argument") {
		t.Fatalf("create without name: exit %d %q", code, errs)
	}
}

func TestInspect(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"GET /networks/bridge": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"Name":"bridge","Id":"b1","Driver":"bridge","Scope":"local","Extra":%q}`, r.URL.RawQuery)
		},
		"GET /networks/missing": func(w http.ResponseWriter, r *http.Request) { apiError(w, 404, "network missing not found") },
	})
	code, out, _ := run(t, d.Host, "", "inspect", "-v", "-f", "{{.Name}} {{.Driver}} {{.Extra}}", "bridge")
	if code != 0 || out != "bridge bridge verbose=true\n" {
		t.Fatalf("inspect -v -f: exit %d %q", code, out)
	}
	code, out, errs := run(t, d.Host, "", "inspect", "bridge", "missing")
	if code != 1 || !strings.HasPrefix(out, "[\n    {\n        \"Name\": \"bridge\"") || errs != "Error response from daemon: network missing not found\n" {
		t.Fatalf("inspect with missing: exit %d\n%s\n%q", code, out, errs)
	}
}

func TestRemove(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"DELETE /networks/a":    reply(204, ""),
		"DELETE /networks/b":    reply(204, ""),
		"DELETE /networks/nope": func(w http.ResponseWriter, r *http.Request) { apiError(w, 404, "network nope not found") },
		"DELETE /networks/used": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 403, "error while removing network: network used has active endpoints")
		},
	})
	code, out, errs := run(t, d.Host, "", "rm", "a", "nope", "b")
	if code != 1 || out != "a\nb\n" || errs != "Error response from daemon: network nope not found\nexit status 1\n" {
		t.Fatalf("rm: exit %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, d.Host, "", "rm", "-f", "nope", "a")
	if code != 0 || out != "a\n" || errs != "" {
		t.Fatalf("rm -f missing: exit %d %q %q", code, out, errs)
	}
	code, _, errs = run(t, d.Host, "", "rm")
	if code != 1 || !strings.Contains(errs, "'berth network rm' requires at least 1 argument") {
		t.Fatalf("rm without args: exit %d %q", code, errs)
	}
	// -f only forgives missing networks.
	code, _, errs = run(t, d.Host, "", "remove", "-f", "used")
	if code != 1 || !strings.Contains(errs, "active endpoints") {
		t.Fatalf("rm -f in use: exit %d %q", code, errs)
	}
}

func TestPrune(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"POST /networks/prune": reply(200, `{"NetworksDeleted":["n1","n2"]}`),
	})
	code, out, _ := run(t, d.Host, "n\n", "prune")
	if code != 0 || out != "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] " {
		t.Fatalf("prune declined: exit %d %q", code, out)
	}
	if len(d.Requests()) != 0 {
		t.Fatalf("declined prune reached the daemon: %v", d.Requests())
	}
	code, out, _ = run(t, d.Host, "y\n", "prune", "--filter", "until=24h")
	if code != 0 || !strings.HasSuffix(out, "[y/N] Deleted Networks:\nn1\nn2\n\n") {
		t.Fatalf("prune: exit %d %q", code, out)
	}
	if q := d.Requests()[0].Query; !strings.Contains(q, "until") {
		t.Fatalf("prune filter not sent: %q", q)
	}
	code, out, _ = run(t, d.Host, "", "prune", "-f")
	if code != 0 || out != "Deleted Networks:\nn1\nn2\n\n" {
		t.Fatalf("prune -f: exit %d %q", code, out)
	}
}

func TestConnectDisconnect(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"POST /networks/net1/connect": reply(200, ""),
		"POST /networks/net1/disconnect": func(w http.ResponseWriter, r *http.Request) {
			if b, _ := io.ReadAll(r.Body); strings.Contains(string(b), "ghost") {
				apiError(w, 404, "No such container: ghost")
			}
		},
	})
	code, _, errs := run(t, d.Host, "", "connect", "--alias", "db", "--alias", "x,y", "--ip", "10.9.0.7", "--ip6", "2001:db8::33",
		"--link-local-ip", "169.254.1.1", "--driver-opt", "k=v", "--link", "other:o", "net1", "web")
	if code != 0 {
		t.Fatalf("connect: exit %d %q", code, errs)
	}
	var body map[string]any
	json.Unmarshal(d.Requests()[0].Body, &body)
	got, _ := json.Marshal(body)
	for _, want := range []string{`"Container":"web"`, `"Aliases":["db","x","y"]`, `"IPv4Address":"10.9.0.7"`, `"IPv6Address":"2001:db8::33"`,
		`"LinkLocalIPs":["169.254.1.1"]`, `"DriverOpts":{"k":"v"}`, `"Links":["other:o"]`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("connect body lacks %s: %s", want, got)
		}
	}
	code, _, errs = run(t, d.Host, "", "connect", "--driver-opt", "novalue", "net1", "web")
	if code != 1 || errs != "invalid key/value pair format in driver options\n" {
		t.Fatalf("bad driver-opt: exit %d %q", code, errs)
	}
	code, _, errs = run(t, d.Host, "", "connect", "net1")
	if code != 1 || !strings.Contains(errs, "requires 2 arguments") {
		t.Fatalf("connect one arg: exit %d %q", code, errs)
	}
	code, _, errs = run(t, d.Host, "", "disconnect", "-f", "net1", "web")
	if code != 0 {
		t.Fatalf("disconnect: exit %d %q", code, errs)
	}
	reqs := d.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/networks/net1/disconnect" || !strings.Contains(string(last.Body), `"Force":true`) || !strings.Contains(string(last.Body), `"Container":"web"`) {
		t.Fatalf("disconnect request: %+v %s", last, last.Body)
	}
	code, _, errs = run(t, d.Host, "", "disconnect", "net1", "ghost")
	if code != 1 || errs != "Error response from daemon: No such container: ghost\n" {
		t.Fatalf("disconnect error: exit %d %q", code, errs)
	}
}

func TestNaturalLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"net2", "net10", true}, {"net10", "net2", false}, {"a", "b", true}, {"a", "a1", true}, {"a01", "a1", false}, {"x", "x", false}} {
		if got := opts.NaturalLess(tc.a, tc.b); got != tc.want {
			t.Errorf("opts.NaturalLess(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
