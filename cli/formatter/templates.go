// Package formatter renders lists and objects for --format: "table",
// "table TEMPLATE", "json" and raw Go templates, with docker's template
// functions, so scripts written for docker's output work unchanged.
package formatter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"unicode"
)

// basicFuncs are docker's template functions (cli/templates in docker/cli).
func basicFuncs() template.FuncMap {
	return template.FuncMap{
		"json": func(v any) string {
			buf := &bytes.Buffer{}
			enc := json.NewEncoder(buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(v)
			// Remove the trailing new line added by the encoder
			return strings.TrimSpace(buf.String())
		},
		"split":    strings.Split,
		"join":     strings.Join,
		"title":    titleCase,
		"lower":    strings.ToLower,
		"upper":    strings.ToUpper,
		"pad":      padWithSpace,
		"truncate": truncateWithLength,
		"println":  fmt.Sprintln,
	}
}

func titleCase(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) || prev == '-' || prev == '_' {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

func padWithSpace(source string, prefix, suffix int) string {
	if source == "" {
		return source
	}
	return strings.Repeat(" ", prefix) + source + strings.Repeat(" ", suffix)
}

func truncateWithLength(source string, length int) string {
	if len(source) < length {
		return source
	}
	return source[:length]
}

// headerFuncs are used when rendering a table header: functions that would
// fail or mangle a header string are neutral there, as in docker.
func headerFuncs() template.FuncMap {
	return template.FuncMap{
		"json":     func(v string) string { return v },
		"split":    func(v string, _ string) string { return v },
		"join":     func(v string, _ string) string { return v },
		"title":    func(v string) string { return v },
		"lower":    func(v string) string { return v },
		"upper":    func(v string) string { return v },
		"truncate": func(v string, _ int) string { return v },
		"pad":      padWithSpace,
		"println":  fmt.Sprintln,
	}
}

// NewTemplate parses format with docker's template functions. Errors read
// "template parsing error: ..." like docker's.
func NewTemplate(format string) (*template.Template, error) {
	t, err := template.New("").Funcs(basicFuncs()).Parse(format)
	if err != nil {
		return nil, &TemplateError{err}
	}
	return t, nil
}

func newHeaderTemplate(format string) (*template.Template, error) {
	return template.New("").Funcs(headerFuncs()).Parse(format)
}

// TemplateError is a --format template that does not parse.
type TemplateError struct{ Err error }

func (e *TemplateError) Error() string { return "template parsing error: " + e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }
