package formatter

import (
	"bytes"
	"reflect"
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
	images := map[[2]string]string{}
	for i, c := range list {
		rows = append(rows, ContainerContext{C: c, Trunc: i%2 == 0, images: images})
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
	}
}
