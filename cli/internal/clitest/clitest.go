// Package clitest runs berth commands against a fake daemon on a unix
// socket that serves canned answers, for the CLI's own tests (the
// end-to-end tests use a real berthd).
package clitest

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
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// Request is what the fake daemon saw: method, unversioned path, raw query
// and body.
type Request struct {
	Method, Path, Query string
	Body                []byte
}

// FakeDaemon serves canned answers: routes maps "METHOD /path" to a
// handler; anything else is a 404 like the daemon's.
type FakeDaemon struct {
	Host   string
	mu     sync.Mutex
	reqs   []Request
	routes map[string]http.HandlerFunc
}

// NewFakeDaemon starts a fake daemon for the test's lifetime.
func NewFakeDaemon(t *testing.T, routes map[string]http.HandlerFunc) *FakeDaemon {
	t.Helper()
	d := &FakeDaemon{routes: routes}
	d.Host = ServeUnix(t, http.HandlerFunc(d.serve))
	return d
}

// ServeUnix serves h on a unix socket in the test's temp dir for the
// test's lifetime and returns its unix:// address.
func ServeUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return "unix://" + sock
}

func (d *FakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/v1.") {
		path = path[strings.Index(path[1:], "/")+1:]
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	d.mu.Lock()
	if path != "/_ping" {
		d.reqs = append(d.reqs, Request{r.Method, path, r.URL.RawQuery, body})
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
		APIError(w, 404, "page not found")
	}
}

// Requests returns the requests seen so far.
func (d *FakeDaemon) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Request(nil), d.reqs...)
}

// APIError writes Docker's JSON error body.
func APIError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// Reply answers with a fixed JSON body.
func Reply(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// Run executes `name args...` from the command group newCmd makes, the way
// cli.Run does (same error printing and exit codes), and returns the exit
// code, stdout and stderr.
func Run(t *testing.T, host, stdin string, newCmd func(*command.Cli) *cobra.Command, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := command.NewCli(io.NopCloser(strings.NewReader(stdin)), &out, &errb)
	defer c.Close()
	c.Host = host
	// A stand-in for berth's root command, so usage messages read
	// "berth <group> ...".
	cmd := &cobra.Command{Use: "berth", SilenceErrors: true, SilenceUsage: true}
	group := newCmd(c)
	cmd.AddCommand(group)
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
	cmd.SetArgs(append([]string{group.Name()}, args...))
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
