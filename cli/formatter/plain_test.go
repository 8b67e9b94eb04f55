package formatter

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestPlainTemplateMatchesTextTemplate renders ps rows through the plain
// path and through text/template and wants the same bytes; formats the
// plain path cannot take must fall back to text/template.
func TestPlainTemplateMatchesTextTemplate(t *testing.T) {
	list := psRows(30)
	list[3].Image, list[4].Image = "", "docker.io/library/busybox:latest"
	list[5].Names = []string{"/a/link", "/real"}
	rows := make([]any, 0, len(list))
	typed := make([]ContainerContext, 0, len(list))
	images := map[[2]string]string{}
	for i, c := range list {
		typed = append(typed, ContainerContext{C: c, Trunc: i%2 == 0, images: images})
		rows = append(rows, typed[i])
	}
	cases := []struct {
		format string
		plain  bool
	}{
		{DefaultContainerTable, true},
		{"{{.ID}}", true},
		{"id={{.ID}} {{.Names}}:{{.Image}} {{.Ports}}{{.Size}}", true},
		{"{{.Label \"x\"}}", false},
		{"{{.C.ID}}", false},
		{"{{json .}}", false},
		{"{{upper .Names}}", false},
		{"{{if .ID}}x{{end}}", false},
		{"{{.Names | lower}}", false},
	}
	for _, tc := range cases {
		tmpl, err := NewTemplate(tc.format)
		if err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if got := newPlainTemplate(tmpl, reflect.TypeOf(rows[0])) != nil; got != tc.plain {
			t.Errorf("%q: plain %v, want %v", tc.format, got, tc.plain)
		}
		var want bytes.Buffer
		for _, r := range rows {
			if err := tmpl.Execute(&want, r); err != nil {
				t.Fatalf("%q: %v", tc.format, err)
			}
			want.WriteString("\n")
		}
		got, err := executeRows(tmpl, rows)
		if err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if got.String() != want.String() {
			t.Errorf("%q: got\n%s\nwant\n%s", tc.format, got, want.String())
		}
		// The same rows as a []ContainerContext: direct method calls.
		if got, err = executeRows(tmpl, typed); err != nil {
			t.Fatalf("%q typed: %v", tc.format, err)
		}
		if got.String() != want.String() {
			t.Errorf("%q typed: got\n%s\nwant\n%s", tc.format, got, want.String())
		}
	}
}

// panicRow's Name panics for an empty N, as a method dereferencing a
// missing field would.
type panicRow struct{ N *string }

func (r panicRow) Name() string { return *r.N }

type otherRow struct{}

func (otherRow) Name() string { return "other" }

// TestPlainRowsPanicsAndMixedTypes: a method's panic is an error on both
// paths (as text/template's is), and []any rows of another type than the
// first go through text/template.
func TestPlainRowsPanicsAndMixedTypes(t *testing.T) {
	tmpl, err := NewTemplate("<{{.Name}}>")
	if err != nil {
		t.Fatal(err)
	}
	x := "x"
	if _, err := executeRows(tmpl, []panicRow{{&x}, {}}); err == nil || !strings.HasPrefix(err.Error(), "template: ") {
		t.Errorf("typed rows: error %v, want a template error", err)
	}
	if _, err := executeRows(tmpl, []any{panicRow{&x}, panicRow{}}); err == nil || !strings.HasPrefix(err.Error(), "template: ") {
		t.Errorf("any rows: error %v, want a template error", err)
	}
	got, err := executeRows(tmpl, []any{panicRow{&x}, otherRow{}, panicRow{&x}, nil})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<x>\n<other>\n<x>\n<<no value>>\n"; got.String() != want {
		t.Errorf("mixed rows: got %q, want %q", got, want)
	}
}

// FuzzPreFormatEscapes: the \t and \n escapes of a --format value are
// replaced as one strings.Replacer for both replaces them.
func FuzzPreFormatEscapes(f *testing.F) {
	for _, s := range []string{`{{.ID}}\t{{.Names}}`, `a\\tb\\\nc`, `\t\n\\`, "x\t\\", `\`, `table \t`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Context{Format: Format(s), DefaultTable: "{{.ID}}"}
		want := strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(c.preFormatBase(), " "))
		if got := c.preFormat(); got != want {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	})
}
