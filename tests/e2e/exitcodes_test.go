package e2e

import (
	"fmt"
	"strings"
	"testing"
)

func TestRunExitCodes(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, tc := range []struct {
			args   []string
			exit   int
			stderr string
		}{
			{[]string{"busybox", "sh", "-c", "exit 3"}, 3, ""},
			{[]string{"busybox", "true"}, 0, ""},
			{[]string{"busybox", "nope-not-here"}, 127, "executable file not found"},
			{[]string{"busybox", "/etc/passwd"}, 126, "permission denied"},
			{[]string{"nosuchimage-e2e"}, 125, "Unable to find image 'nosuchimage-e2e:latest' locally"},
			{[]string{"--name", "bad name!", "busybox", "true"}, 125, "Invalid container name (bad name!)"},
		} {
			r := c.Run(t, append([]string{"run", "--rm"}, tc.args...)...)
			if r.Exit != tc.exit || !strings.Contains(r.Stderr, tc.stderr) {
				t.Errorf("want exit %d and stderr containing %q, got %s", tc.exit, tc.stderr, r)
			}
		}
	})
}

func TestNameConflict(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := uniq("dup-" + c.Name)
		c.Must(t, "create", "--name", name, "busybox", "true")
		r := c.Run(t, "run", "--name", name, "busybox", "true")
		want := fmt.Sprintf(`Conflict. The container name "/%s" is already in use`, name)
		if r.Exit != 125 || !strings.Contains(r.Stderr, want) {
			t.Errorf("second run --name %s: want exit 125 and %q, got %s", name, want, r)
		}
		if r := c.Run(t, "create", "--name", name, "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("second create --name %s: want failure with %q, got %s", name, want, r)
		}
		c.Must(t, "rm", name)
	})
}

func TestNoSuchContainer(t *testing.T) {
	d := sharedDaemon(t, "core")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, verb := range [][]string{{"rm"}, {"stop"}, {"start"}, {"kill"}, {"logs"}, {"container", "inspect"}, {"wait"}, {"restart"}, {"pause"}} {
			r := c.Run(t, append(verb, "zzz")...)
			if r.Exit != 1 || !strings.Contains(r.Stderr, "No such container: zzz") {
				t.Errorf("want exit 1 and \"No such container: zzz\", got %s", r)
			}
		}
		status, _, body := d.API(t, "GET", "/containers/zzz/json", "", "")
		if status != 404 || !strings.Contains(body, "No such container: zzz") {
			t.Errorf("GET /containers/zzz/json: HTTP %d %q, want 404 No such container: zzz", status, body)
		}
	})
}

// Ambiguous ID prefixes are an error (HTTP 400), never a guess.
func TestAmbiguousIDPrefix(t *testing.T) {
	d := startDaemon(t) // its own: the prefix must be ambiguous among known containers only
	c := d.Berth()
	seen := map[byte]string{}
	var prefix string
	for i := 0; i < 17 && prefix == ""; i++ {
		id := c.Must(t, "create", "busybox", "true")
		if !fullID.MatchString(id) {
			t.Fatalf("create printed %q, want a 64-hex ID", id)
		}
		if _, ok := seen[id[0]]; ok {
			prefix = id[:1]
		}
		seen[id[0]] = id
	}
	if prefix == "" {
		t.Fatal("17 containers and no two IDs share a first digit: IDs are not hex")
	}
	want := "multiple IDs found with provided prefix: " + prefix
	eachCLI(t, d, func(t *testing.T, c CLI) {
		for _, args := range [][]string{{"container", "inspect", prefix}, {"rm", prefix}, {"start", prefix}} {
			r := c.Run(t, args...)
			if r.Exit == 0 || !strings.Contains(r.Stderr, want) {
				t.Errorf("want failure with %q, got %s", want, r)
			}
		}
	})
	status, _, body := d.API(t, "GET", "/containers/"+prefix+"/json", "", "")
	if status != 400 || !strings.Contains(body, want) {
		t.Errorf("GET /containers/%s/json: HTTP %d %q, want 400 with %q", prefix, status, body, want)
	}
	// A unique prefix still works.
	for _, id := range seen {
		if out := c.Must(t, "container", "inspect", "--format", "{{.Id}}", id[:10]); out != id {
			t.Errorf("inspect by 10-digit prefix: %q, want %s", out, id)
		}
		break
	}
}
