package volume

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// request is what the fake daemon saw: method, unversioned path, raw query
// and body.
type request struct {
	Method, Path, Query string
	Body                []byte
}

// fakeDaemon serves canned answers on a unix socket: routes maps
// "METHOD /path" to a handler; anything else is a 404 like the daemon's.
type fakeDaemon struct {
	host   string
	mu     sync.Mutex
	reqs   []request
	routes map[string]http.HandlerFunc
}

func newFakeDaemon(t *testing.T, routes map[string]http.HandlerFunc) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{routes: routes}
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	d.host = "unix://" + sock
	return d
}

func (d *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/v1.") {
		path = path[strings.Index(path[1:], "/")+1:]
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	d.mu.Lock()
	if path != "/_ping" {
		d.reqs = append(d.reqs, request{r.Method, path, r.URL.RawQuery, body})
	}
	h := d.routes[r.Method+" "+path]
	d.mu.Unlock()
	w.Header().Set("Api-Version", "1.47")
	switch {
	case path == "/_ping":
		w.Write([]byte("OK"))
	case h != nil:
		h(w, r)
	default:
		apiError(w, 404, "page not found")
	}
}

func (d *fakeDaemon) requests() []request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]request(nil), d.reqs...)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func reply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// run executes `volume args...` the way cli.Run does (same error
// printing and exit codes) and returns exit code, stdout and stderr.
func run(t *testing.T, host, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := command.NewCli(io.NopCloser(strings.NewReader(stdin)), &out, &errb)
	defer c.Close()
	c.Host = host
	// A stand-in for berth's root command, so usage messages read
	// "berth volume ...".
	cmd := &cobra.Command{Use: "berth", SilenceErrors: true, SilenceUsage: true}
	cmd.AddCommand(NewVolumeCommand(c))
	var walk func(*cobra.Command)
	walk = func(cc *cobra.Command) {
		cc.DisableFlagsInUseLine = true
		cc.SetFlagErrorFunc(func(cc *cobra.Command, err error) error {
			return command.StatusError{Status: fmt.Sprintf("%s\n\nUsage:  %s", err, cc.UseLine()), StatusCode: 125}
		})
		for _, s := range cc.Commands() {
			walk(s)
		}
	}
	walk(cmd)
	cmd.SetArgs(append([]string{"volume"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.ExecuteContext(context.Background())
	if err == nil {
		return 0, out.String(), errb.String()
	}
	var se command.StatusError
	if errors.As(err, &se) {
		if se.Status != "" {
			fmt.Fprintln(&errb, se.Status)
		} else if se.Cause != nil {
			fmt.Fprintln(&errb, command.Message(se.Cause))
		}
		return command.ExitCode(err), out.String(), errb.String()
	}
	fmt.Fprintln(&errb, command.Message(err))
	return 1, out.String(), errb.String()
}

const volList = `{"Volumes":[
 {"Name":"vol10","Driver":"local","Mountpoint":"/data/volumes/vol10/_data","Scope":"local","Labels":{"b":"2","a":"1"},"Options":null},
 {"Name":"0ab3f","Driver":"local","Mountpoint":"/data/volumes/0ab3f/_data","Scope":"local","Labels":null,"Options":null},
 {"Name":"vol9","Driver":"other","Mountpoint":"/m","Scope":"local","Labels":null,"Options":null,"UsageData":{"Size":2048,"RefCount":2}}
],"Warnings":null}`

func TestList(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{"GET /volumes": reply(200, volList)})
	code, out, errs := run(t, d.host, "", "ls")
	want := "DRIVER    VOLUME NAME\nlocal     0ab3f\nother     vol9\nlocal     vol10\n"
	if code != 0 || out != want {
		t.Fatalf("ls: exit %d %q\n got:\n%s\nwant:\n%s", code, errs, out, want)
	}
	_, out, _ = run(t, d.host, "", "list", "-q")
	if out != "0ab3f\nvol9\nvol10\n" {
		t.Fatalf("ls -q:\n%s", out)
	}
	_, out, _ = run(t, d.host, "", "ls", "--format", `table {{.Name}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}\t{{.Mountpoint}}`)
	want = "VOLUME NAME   LABELS    LINKS     SIZE      MOUNTPOINT\n" +
		"0ab3f                   N/A       N/A       /data/volumes/0ab3f/_data\n" +
		"vol9                    2         2.048kB   /m\n" +
		"vol10         a=1,b=2   N/A       N/A       /data/volumes/vol10/_data\n"
	if out != want {
		t.Fatalf("ls table format:\n%s", out)
	}
	_, out, _ = run(t, d.host, "", "ls", "--format", `{{.Name}}:{{.Label "a"}}`)
	if out != "0ab3f:\nvol9:\nvol10:1\n" {
		t.Fatalf("ls table format:\n%s", out)
	}
	_, out, _ = run(t, d.host, "", "ls", "--format", "json")
	var first map[string]string
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if first["Name"] != "0ab3f" || first["Group"] != "N/A" || first["Links"] != "N/A" || first["Scope"] != "local" || len(first) != 10 {
		t.Fatalf("json row: %v", first)
	}
	_, out, _ = run(t, d.host, "", "ls", "--cluster")
	if out != "VOLUME NAME   GROUP     DRIVER    AVAILABILITY   STATUS\n" && out != "" {
		t.Fatalf("ls --cluster:\n%q", out)
	}
	for _, f := range []string{"dangling=true", "label=a=1", "name=vol", "driver=local"} {
		run(t, d.host, "", "ls", "--filter", f)
		reqs := d.requests()
		k, v, _ := strings.Cut(f, "=")
		var filters map[string]map[string]bool
		q, _ := url.ParseQuery(reqs[len(reqs)-1].Query)
		if err := json.Unmarshal([]byte(q.Get("filters")), &filters); err != nil || !filters[k][v] {
			t.Fatalf("filter %s sent as %q", f, reqs[len(reqs)-1].Query)
		}
	}
	code, _, errs = run(t, d.host, "", "ls", "-f", "dangling")
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
	code, out, errs := run(t, d.host, "", "create", "-d", "local", "--label", "a=b", "--label", "c", "-o", "type=tmpfs", "-o", "device=tmpfs", "--opt", "o=size=1m", "data")
	if code != 0 || out != "data\n" {
		t.Fatalf("create: exit %d %q %q", code, out, errs)
	}
	var body map[string]any
	json.Unmarshal(d.requests()[0].Body, &body)
	got, _ := json.Marshal(body)
	if string(got) != `{"Driver":"local","DriverOpts":{"device":"tmpfs","o":"size=1m","type":"tmpfs"},"Labels":{"a":"b","c":""},"Name":"data"}` {
		t.Fatalf("create body: %s", got)
	}
	_, out, _ = run(t, d.host, "", "create")
	if out != "f00dcafe\n" {
		t.Fatalf("anonymous create: %q", out)
	}
	_, out, _ = run(t, d.host, "", "create", "--name", "named")
	if out != "named\n" {
		t.Fatalf("create --name: %q", out)
	}
	n := len(d.requests())
	code, _, errs = run(t, d.host, "", "create", "--name", "a", "b")
	if code != 1 || errs != "conflicting options: cannot specify a volume-name through both --name and as a positional arg\n" || len(d.requests()) != n {
		t.Fatalf("create --name and arg: exit %d %q", code, errs)
	}
	code, _, errs = run(t, d.host, "", "create", "a", "b")
	if code != 1 || !strings.Contains(errs, "'berth volume create' requires at most 1 argument") {
		t.Fatalf("create two args: exit %d %q", code, errs)
	}
}

func TestInspect(t *testing.T) {
	d := newFakeDaemon(t, map[string]http.HandlerFunc{
		"GET /volumes/data": reply(200, `{"Name":"data","Driver":"local","Mountpoint":"/x","Scope":"local","Labels":{"a":"b"}}`),
		"GET /volumes/nope": func(w http.ResponseWriter, r *http.Request) { apiError(w, 404, "get nope: no such volume") },
	})
	code, out, _ := run(t, d.host, "", "inspect", "-f", "{{.Name}} {{.Labels.a}} {{.Mountpoint}}", "data")
	if code != 0 || out != "data b /x\n" {
		t.Fatalf("inspect -f: exit %d %q", code, out)
	}
	code, out, errs := run(t, d.host, "", "inspect", "nope")
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
	code, out, errs := run(t, d.host, "", "rm", "nope", "a", "used")
	if code != 1 || out != "a\n" || errs != "Error response from daemon: get nope: no such volume\nError response from daemon: remove used: volume is in use - [abc]\n" {
		t.Fatalf("rm: exit %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, d.host, "", "remove", "-f", "nope")
	if code != 0 || out != "nope\n" {
		t.Fatalf("rm -f: exit %d %q %q", code, out, errs)
	}
	reqs := d.requests()
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
	code, out, _ := run(t, d.host, "no\n", "prune")
	if code != 0 || out != "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] " || len(d.requests()) != 0 {
		t.Fatalf("prune declined: exit %d %q (%d requests)", code, out, len(d.requests()))
	}
	code, out, _ = run(t, d.host, "y\n", "prune", "-a")
	want := "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\nv1\nf00d\n\nTotal reclaimed space: 1.235MB\n"
	if code != 0 || out != want {
		t.Fatalf("prune -a: exit %d\n got %q\nwant %q", code, out, want)
	}
	q, _ := url.ParseQuery(d.requests()[0].Query)
	if !strings.Contains(q.Get("filters"), `"all":{"true":true}`) {
		t.Fatalf("prune -a filters: %q", q.Get("filters"))
	}
	code, out, _ = run(t, d.host, "", "prune", "-f", "--filter", "label=none")
	if code != 0 || out != "Total reclaimed space: 0B\n" {
		t.Fatalf("prune nothing: exit %d %q", code, out)
	}
	n := len(d.requests())
	code, _, errs := run(t, d.host, "", "prune", "-a", "-f", "--filter", "all=1")
	if code != 1 || errs != "conflicting options: cannot specify both --all and --filter all=1\n" || len(d.requests()) != n {
		t.Fatalf("prune -a with all filter: exit %d %q", code, errs)
	}
}
