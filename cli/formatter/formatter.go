package formatter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/template"
)

// Format is the value of a --format flag.
type Format string

const (
	TableFormatKey = "table"
	JSONFormatKey  = "json"
	// JSONFormat is what "json" expands to.
	JSONFormat = "{{json .}}"
)

// IsTable reports whether the format starts with "table".
func (f Format) IsTable() bool { return strings.HasPrefix(string(f), TableFormatKey) }

// IsJSON reports whether the format is exactly "json".
func (f Format) IsJSON() bool { return string(f) == JSONFormatKey }

// Headers maps a template field name (e.g. "ID") to its column title.
type Headers map[string]string

// Context renders rows to Output according to Format.
type Context struct {
	Output io.Writer
	Format Format
	// DefaultTable is used when Format is just "table".
	DefaultTable string
}

// preFormat turns the flag value into the template to execute per row,
// handling the "table" prefix, "json", and the \t and \n escapes shells pass
// literally.
func (c *Context) preFormat() string {
	f := strings.Trim(c.preFormatBase(), " ")
	// Two ReplaceAlls give what one strings.Replacer for both would (a
	// tab or newline written by the first cannot start a match of the
	// second) without building a Replacer's lookup tables for every
	// table; the default tables have no escapes at all.
	if strings.Contains(f, `\`) {
		f = strings.ReplaceAll(strings.ReplaceAll(f, `\t`, "\t"), `\n`, "\n")
	}
	return f
}

// preFormatBase is the format without its "table" prefix, or the template
// it stands for.
func (c *Context) preFormatBase() string {
	switch {
	case c.Format.IsTable():
		if f := string(c.Format[len(TableFormatKey):]); strings.TrimSpace(f) != "" {
			return f
		}
		return c.DefaultTable
	case c.Format.IsJSON():
		return JSONFormat
	}
	return string(c.Format)
}

// Write executes the format for every row (each a struct whose methods are
// the template fields) and writes the result; tables get a header row from
// headers and are aligned like docker's (tabwriter 10,1,3).
func (c *Context) Write(rows []any, headers Headers) error {
	return WriteRows(c, rows, headers)
}

// WriteRows is Write for rows of one type T: a plain format (every default
// table) then calls T's methods directly instead of through reflect.
func WriteRows[T any](c *Context, rows []T, headers Headers) error {
	format := c.preFormat()
	tmpl, err := NewTemplate(format)
	if err != nil {
		return err
	}
	buf, err := executeRows(tmpl, rows)
	if err != nil {
		return err
	}
	if !c.Format.IsTable() {
		_, err := c.Output.Write(buf.Bytes())
		return err
	}
	table := &bytes.Buffer{}
	if ht, err := newHeaderTemplate(format); err == nil {
		if err := ht.Execute(table, map[string]string(headers)); err != nil || strings.TrimSpace(table.String()) == "" {
			table.Reset()
		} else {
			table.WriteString("\n")
		}
	}
	if table.Len() == 0 {
		table = buf
	} else {
		table.Write(buf.Bytes())
	}
	return WriteTable(c.Output, table.Bytes(), 10, 3)
}

// executeRows renders every row, one per line, without text/template when
// the format is plain (rowWriter).
func executeRows[T any](tmpl *template.Template, rows []T) (*bytes.Buffer, error) {
	buf := &bytes.Buffer{}
	write := rowWriter(tmpl, rows)
	for _, r := range rows {
		done := false
		if write != nil {
			var err error
			if done, err = write(buf, r); err != nil {
				return nil, err
			}
		}
		if !done {
			if err := tmpl.Execute(buf, r); err != nil {
				return nil, fmt.Errorf("template: %w", err)
			}
		}
		buf.WriteString("\n")
	}
	return buf, nil
}

// MarshalMethods builds the JSON object docker prints for --format json: one
// key per exported, argument-less method returning a value.
func MarshalMethods(v any) ([]byte, error) {
	m := map[string]any{}
	val := reflect.ValueOf(v)
	typ := val.Type()
	for i := 0; i < typ.NumMethod(); i++ {
		meth := typ.Method(i)
		if meth.Name == "MarshalJSON" || meth.Type.NumIn() != 1 || meth.Type.NumOut() != 1 {
			continue
		}
		m[meth.Name] = val.Method(i).Call(nil)[0].Interface()
	}
	return json.Marshal(m)
}

// Ellipsis truncates s to maxWidth runes, ending with "…" when it was cut.
func Ellipsis(s string, maxWidth int) string {
	r := []rune(s)
	if len(r) <= maxWidth {
		return s
	}
	if maxWidth <= 1 {
		return string(r[:maxWidth])
	}
	return string(r[:maxWidth-1]) + "…"
}

// TruncateID returns the 12-character short form of an ID, without any
// "sha256:" prefix.
func TruncateID(id string) string {
	if i := strings.IndexRune(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
