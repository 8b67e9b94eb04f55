package volume

import (
	"encoding/json"
	"fmt"
	"github.com/berth-dev/berth/cli/internal/clitest"
	"io"
	"net/http"
	"net/url"
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

// run executes `volume args...` as berth does and returns exit code, stdout
// and stderr.
func run(t *testing.T, host, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, host, stdin, NewVolumeCommand, args...)
}

const volList = `{"Volumes":[
 {"Name":"vol10","Driver":"local","Mountpoint":"/data/volumes/vol10/_data","Scope":"local","Labels":{"b":"2","a":"1"},"Options":null},
 {"Name":"0ab3f","Driver":"local","Mountpoint":"/data/volumes/0ab3f/_data","Scope":"local","Labels":null,"Options":null},
 {"Name":"vol9","Driver":"other","Mountpoint":"/m","Scope":"local","Labels":null,"Options":null,"UsageData":{"Size":2048,"RefCount":2}}
],"Warnings":null}`

func TestList(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{"GET /volumes": reply(200, volList)})
	code, out, errs := run(t, d.Host, "", "ls")
	want := "DRIVER    VOLUME NAME\nlocal     0ab3f\nother     vol9\nlocal     vol10\n"
	if code != 0 || out != want {
		t.Fatalf("ls: exit %d %q\n got:\n%s\nwant:\n%s", code, errs, out, want)
	}
	_, out, _ = run(t, d.Host, "", "list", "-q")
	if out != "0ab3f\nvol9\nvol10\n" {
		t.Fatalf("ls -q:\n%s", out)
	}
	_, out, _ = run(t, d.Host, "", "ls", "--format", `table {{.Name}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}\t{{.Mountpoint}}`)
	want = "VOLUME NAME   LABELS    LINKS     SIZE      MOUNTPOINT\n" +
		"0ab3f                   N/A       N/A       /data/volumes/0ab3f/_data\n" +
		"vol9                    2         2.048kB   /m\n" +
		"vol10         a=1,b=2   N/A       N/A       /data/volumes/vol10/_data\n"
	if out != want {
		t.Fatalf("ls table format:\n%s", out)
	}
	_, out, _ = run(t, d.Host, "", "ls", "--format", `{{.Name}}:{{.Label "a"}}`)
	if out != "0ab3f:\nvol9:\nvol10:1\n" {
		t.Fatalf("ls table format:\n%s", out)
	}
	_, out, _ = run(t, d.Host, "", "ls", "--format", "json")
	var first map[string]string
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if first["Name"] != "0ab3f" || first["Group"] != "N/A" || first["Links"] != "N/A" || first["Scope"] != "local" || len(first) != 10 {
		t.Fatalf("json row: %v", first)
	}
	_, out, _ = run(t, d.Host, "", "ls", "--cluster")
	if out != "VOLUME NAME   GROUP     DRIVER    AVAILABILITY   STATUS\n" && out != "" {
		t.Fatalf("ls --cluster:\n%q", out)
	}
	for _, f := range []string{"dangling=true", "label=a=1", "name=vol", "driver=local"} {
		run(t, d.Host, "", "ls", "--filter", f)
		reqs := d.Requests()
		k, v, _ := strings.Cut(f, "=")
		var filters map[string]map[string]bool
		q, _ := url.ParseQuery(reqs[len(reqs)-1].Query)
		if err := json.Unmarshal([]byte(q.Get("filters")), &filters); err != nil || !filters[k][v] {
			t.Fatalf("filter %s sent as %q", f, reqs[len(reqs)-1].Query)
		}
	}
	code, _, errs = run(t, d.Host, "", "ls", "-f", "dangling")
	if code != 125 || !strings.HasPrefix(errs, `invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)`) {
		t.Fatalf("bad filter: exit %d %q", code, errs)
	}
}

func TestCreate(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"POST /volumes/create": func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Name string }
			json.NewDecoder(r.Body).Decode(&req)
			if req.Name == "" {
				req.Name = "f00dcafe"
			}
			w.WriteHeader(201)
			fmt.Fprintf(w, `{"Name":%q,"Driver":"local","Mountpoint":"/x","Scope":"local"}`, req.Name)
		},
	})
	code, out, errs := run(t, d.Host, "", "create", "-d", "local", "--label", "a=b", "--label", "c", "-o", "type=tmpfs", "-o", "device=tmpfs", "--opt", "o=size=1m", "data")
	if code != 0 || out != "data\n" {
		t.Fatalf("create: exit %d %q %q", code, out, errs)
	}
	var body map[string]any
	json.Unmarshal(d.Requests()[0].Body, &body)
	got, _ := json.Marshal(body)
	if string(got) != `{"Driver":"local","DriverOpts":{"device":"tmpfs","o":"size=1m","type":"tmpfs"},"Labels":{"a":"b","c":""},"Name":"data"}` {
		t.Fatalf("create body: %s", got)
	}
	_, out, _ = run(t, d.Host, "", "create")
	if out != "f00dcafe\n" {
		t.Fatalf("anonymous create: %q", out)
	}
	_, out, _ = run(t, d.Host, "", "create", "--name", "named")
	if out != "named\n" {
		t.Fatalf("create --name: %q", out)
	}
	n := len(d.Requests())
	code, _, errs = run(t, d.Host, "", "create", "--name", "a", "b")
	if code != 1 || errs != "conflicting options: cannot specify a volume-name through both --name and as a positional arg\n" || len(d.Requests()) != n {
		t.Fatalf("create --name and arg: exit %d %q", code, errs)
	}
	code, _, errs = run(t, d.Host, "", "create", "a", "b")
	if code != 1 || !strings.Contains(errs, "'berth volume create' requires at most 1 argument") {
		t.Fatalf("create two args: exit %d %q", code, errs)
	}
}

func TestInspect(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"GET /volumes/data": reply(200, `{"Name":"data","Driver":"local","Mountpoint":"/x","Scope":"local","Labels":{"a":"b"}}`),
		"GET /volumes/nope": func(w http.ResponseWriter, r *http.Request) { apiError(w, 404, "get nope: no such volume") },
	})
	code, out, _ := run(t, d.Host, "", "inspect", "-f", "{{.Name}} {{.Labels.a}} {{.Mountpoint}}", "data")
	if code != 0 || out != "data b /x\n" {
		t.Fatalf("inspect -f: exit %d %q", code, out)
	}
	code, out, errs := run(t, d.Host, "", "inspect", "nope")
	if code != 1 || out != "[]\n" || errs != "Error response from daemon: get nope: no such volume\n" {
		t.Fatalf("inspect missing: exit %d %q %q", code, out, errs)
	}
}

func TestRemove(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"DELETE /volumes/a": reply(204, ""),
		"DELETE /volumes/nope": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("force") != "" {
				w.WriteHeader(204)
				return
			}
			apiError(w, 404, "get nope: no such volume")
		},
		"DELETE /volumes/used": func(w http.ResponseWriter, r *http.Request) {
			apiError(w, 409, "remove used: volume is in use - [abc]")
		},
	})
	code, out, errs := run(t, d.Host, "", "rm", "nope", "a", "used")
	if code != 1 || out != "a\n" || errs != "Error response from daemon: get nope: no such volume\nError response from daemon: remove used: volume is in use - [abc]\n" {
		t.Fatalf("rm: exit %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, d.Host, "", "remove", "-f", "nope")
	if code != 0 || out != "nope\n" {
		t.Fatalf("rm -f: exit %d %q %q", code, out, errs)
	}
	reqs := d.Requests()
	if q := reqs[len(reqs)-1].Query; q != "force=1" {
		t.Fatalf("rm -f query: %q", q)
	}
}

func TestPrune(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"POST /volumes/prune": func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.RawQuery, "none") {
				io.WriteString(w, `{"VolumesDeleted":null,"SpaceReclaimed":0}`)
				return
			}
			io.WriteString(w, `{"VolumesDeleted":["v1","f00d"],"SpaceReclaimed":1234567}`)
		},
	})
	code, out, _ := run(t, d.Host, "no\n", "prune")
	if code != 0 || out != "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] " || len(d.Requests()) != 0 {
		t.Fatalf("prune declined: exit %d %q (%d requests)", code, out, len(d.Requests()))
	}
	code, out, _ = run(t, d.Host, "y\n", "prune", "-a")
	want := "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\nv1\nf00d\n\nTotal reclaimed space: 1.235MB\n"
	if code != 0 || out != want {
		t.Fatalf("prune -a: exit %d\n got %q\nwant %q", code, out, want)
	}
	q, _ := url.ParseQuery(d.Requests()[0].Query)
	if !strings.Contains(q.Get("filters"), `"all":{"true":true}`) {
		t.Fatalf("prune -a filters: %q", q.Get("filters"))
	}
	code, out, _ = run(t, d.Host, "", "prune", "-f", "--filter", "label=none")
	if code != 0 || out != "Total reclaimed space: 0B\n" {
		t.Fatalf("prune nothing: exit %d %q", code, out)
	}
	n := len(d.Requests())
	code, _, errs := run(t, d.Host, "", "prune", "-a", "-f", "--filter", "all=1")
	if code != 1 || errs != "conflicting options: cannot specify both --all and --filter all=1\n" || len(d.Requests()) != n {
		t.Fatalf("prune -a with all filter: exit %d %q", code, errs)
	}
}
