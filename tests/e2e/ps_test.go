package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestPsOptions(t *testing.T) {
	d := startDaemon(t) // its own: -n, -l and counts depend on every container known
	b := d.Berth()
	b.Must(t, "run", "--name", "ps-a", "-l", "team=red", "busybox", "true")
	if r := b.Run(t, "run", "--name", "ps-b", "-l", "team=blue", "busybox", "sh", "-c", "exit 2"); r.Exit != 2 {
		t.Fatalf("run ... exit 2: %s", r)
	}
	b.Must(t, "run", "-d", "--name", "ps-c", "-l", "team=red", "busybox", "sleep", "1d")
	b.Must(t, "create", "--name", "ps-d", "busybox", "true")
	ids := map[string]string{}
	for _, n := range []string{"ps-a", "ps-b", "ps-c", "ps-d"} {
		ids[n] = b.Must(t, "inspect", "--format", "{{.Id}}", n)
	}
	short := func(names ...string) string {
		var out []string
		for _, n := range names {
			out = append(out, ids[n][:12])
		}
		return strings.Join(out, "\n")
	}

	eachCLI(t, d, func(t *testing.T, c CLI) {
		// Default table: running only, Docker's columns.
		out := c.Must(t, "ps")
		lines := strings.Split(out, "\n")
		if !regexp.MustCompile(`^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$`).MatchString(lines[0]) {
			t.Errorf("ps header: %q, want Docker's columns", lines[0])
		}
		if len(lines) != 2 || !strings.Contains(lines[1], ids["ps-c"][:12]) || !strings.Contains(lines[1], "ps-c") ||
			!strings.Contains(lines[1], "Up ") || !strings.Contains(lines[1], `"sleep 1d"`) || !strings.Contains(lines[1], "busybox") {
			t.Errorf("ps: want one row for ps-c (Up, \"sleep 1d\", busybox):\n%s", out)
		}
		all := c.Must(t, "ps", "-a")
		for _, want := range []string{"Exited (0)", "Exited (2)", "Created", "Up "} {
			if !strings.Contains(all, want) {
				t.Errorf("ps -a: no %q:\n%s", want, all)
			}
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"-q"}, short("ps-c")},
			{[]string{"-aq"}, short("ps-d", "ps-c", "ps-b", "ps-a")},
			{[]string{"-q", "-n", "2"}, short("ps-d", "ps-c")},
			{[]string{"-q", "-l"}, short("ps-d")},
			{[]string{"-q", "--no-trunc"}, ids["ps-c"]},
			{[]string{"-aq", "--filter", "name=ps-b"}, short("ps-b")},
			{[]string{"-aq", "--filter", "label=team=red"}, short("ps-c", "ps-a")},
			{[]string{"-aq", "--filter", "label=team"}, short("ps-c", "ps-b", "ps-a")},
			{[]string{"-aq", "--filter", "status=exited"}, short("ps-b", "ps-a")},
			{[]string{"-aq", "--filter", "status=running"}, short("ps-c")},
			{[]string{"-aq", "--filter", "status=created"}, short("ps-d")},
			{[]string{"-aq", "--filter", "exited=2"}, short("ps-b")},
			{[]string{"-aq", "--filter", "ancestor=busybox"}, short("ps-d", "ps-c", "ps-b", "ps-a")},
			{[]string{"-aq", "--filter", "id=" + ids["ps-c"][:8]}, short("ps-c")},
			{[]string{"-aq", "--filter", "label=team=red", "--filter", "status=exited"}, short("ps-a")},
			{[]string{"-a", "--filter", "name=ps-c", "--format", "{{.ID}} {{.Names}}"}, ids["ps-c"][:12] + " ps-c"},
			{[]string{"-a", "--filter", "name=ps-c", "--format", "table {{.ID}}\t{{.Names}}"}, "CONTAINER ID   NAMES\n" + ids["ps-c"][:12] + "   ps-c"},
		} {
			args := append([]string{"ps"}, tc.args...)
			if got := c.Must(t, args...); got != tc.want {
				t.Errorf("%s %s:\n got %q\nwant %q", c.Name, strings.Join(args, " "), got, tc.want)
			}
		}
		if out := c.Must(t, "ps", "-s"); !strings.Contains(strings.Split(out, "\n")[0], "SIZE") {
			t.Errorf("ps -s: no SIZE column:\n%s", out)
		}
		js := c.Must(t, "ps", "-a", "--filter", "label=team=red", "--format", "json")
		jl := strings.Split(js, "\n")
		if len(jl) != 2 {
			t.Fatalf("ps --format json: want 2 lines (one object per container), got %q", js)
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(jl[0]), &obj); err != nil {
			t.Fatalf("ps --format json line 1 is not JSON: %v: %q", err, jl[0])
		}
		if obj["Names"] != "ps-c" || obj["ID"] != ids["ps-c"][:12] || obj["State"] != "running" || obj["Image"] != "busybox" {
			t.Errorf("ps --format json: %v, want Names ps-c, ID %s, State running, Image busybox", obj, ids["ps-c"][:12])
		}
		if !strings.Contains(jl[1], `"Names":"ps-a"`) {
			t.Errorf("ps --format json line 2: %q, want ps-a", jl[1])
		}
	})
}
