package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/berth-dev/berth/cli/command"
)

func TestCommandName(t *testing.T) {
	root := newRoot(command.NewCli(io.NopCloser(strings.NewReader("")), io.Discard, io.Discard))
	for args, want := range map[string]string{
		"ps":                         "ps",
		"-H unix:///x.sock ps -a":    "ps",
		"--host=unix:///x.sock ps":   "ps",
		"--host unix:///x.sock run":  "run",
		"-D -l debug images":         "images",
		"-Dl debug images":           "images",
		"-ldebug images":             "images",
		"--debug --tls -c ctx start": "start",
		"--context ps version":       "version",
		"":                           "",
		"--help":                     "",
		"-h ps":                      "",
		"--nosuchflag ps":            "",
		"-- ps":                      "",
		"-H":                         "",
		"help ps":                    "help",
	} {
		if got := commandName(root.Flags(), strings.Fields(args)); got != want {
			t.Errorf("commandName(%q) = %q, want %q", args, got, want)
		}
	}
}

func TestOnlyVersion(t *testing.T) {
	root := newRoot(command.NewCli(io.NopCloser(strings.NewReader("")), io.Discard, io.Discard))
	for args, want := range map[string]bool{
		"--version":          true,
		"-v":                 true,
		"-Dv":                true,
		"-D --version -l x":  true,
		"--version=true":     true,
		"--version=false":    false,
		"-H -v":              false, // -v is -H's value
		"--version ps":       false,
		"--version --nosuch": false,
		"":                   false,
		"--debug":            false,
	} {
		if got := onlyVersion(root.Flags(), strings.Fields(args)); got != want {
			t.Errorf("onlyVersion(%q) = %v, want %v", args, got, want)
		}
	}
}

// TestNamedCommandIsTheWholeTreesOne builds the tree for each top-level
// command alone and checks that it is the command the whole tree has,
// with the same flags.
func TestNamedCommandIsTheWholeTreesOne(t *testing.T) {
	cli := command.NewCli(io.NopCloser(strings.NewReader("")), io.Discard, io.Discard)
	full := NewRootCommand(cli, nil)
	if len(full.Commands()) < 40 {
		t.Fatalf("the whole tree has %d top-level commands", len(full.Commands()))
	}
	for _, want := range full.Commands() {
		root := NewRootCommand(cli, []string{"-D", want.Name(), "--help"})
		if n := len(root.Commands()); n != 1 {
			t.Errorf("%s: %d top-level commands built, want 1", want.Name(), n)
			continue
		}
		got := root.Commands()[0]
		if got.Name() != want.Name() || got.Short != want.Short {
			t.Errorf("%s: built %s (%q)", want.Name(), got.Name(), got.Short)
		}
		if g, w := got.Flags().FlagUsages(), want.Flags().FlagUsages(); g != w {
			t.Errorf("%s: flags differ from the whole tree's:\n%s\nwant:\n%s", want.Name(), g, w)
		}
		if g, w := len(got.Commands()), len(want.Commands()); g != w {
			t.Errorf("%s: %d subcommands, want %d", want.Name(), g, w)
		}
	}
}

// TestHelpListsEveryCommand: `berth`, `berth --help`, `berth help` and
// global options before them still build and list every top-level
// command, and an unknown name is reported as docker reports it.
func TestHelpListsEveryCommand(t *testing.T) {
	cli := command.NewCli(io.NopCloser(strings.NewReader("")), io.Discard, io.Discard)
	full := NewRootCommand(cli, nil).Commands()
	if len(full) < 40 {
		t.Fatalf("the whole tree has %d top-level commands", len(full))
	}
	for _, args := range [][]string{nil, {"--help"}, {"help"}, {"-D", "--help"}, {"--log-level", "warn"}} {
		var out, errw strings.Builder
		if code := Run(t.Context(), args, io.NopCloser(strings.NewReader("")), &out, &errw); code != 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, errw.String())
			continue
		}
		for _, c := range full {
			if !c.Hidden && !strings.Contains(out.String(), "\n  "+c.Name()+" ") {
				t.Errorf("%q: %s is not listed in:\n%s", args, c.Name(), out.String())
			}
		}
	}
	var out, errw strings.Builder
	code := Run(t.Context(), []string{"bogus"}, io.NopCloser(strings.NewReader("")), &out, &errw)
	if want := "berth: unknown command: berth bogus\n\nRun 'berth --help' for more information\n"; code != 1 || errw.String() != want {
		t.Errorf("bogus: exit %d, stderr %q, want 1, %q", code, errw.String(), want)
	}
}
