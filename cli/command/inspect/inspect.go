// Package inspect renders `inspect` output: an indented JSON array of the
// objects' raw JSON, or a Go template per object.
package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
)

// GetRefFunc fetches one object: its typed value and its raw JSON.
type GetRefFunc func(ref string) (any, []byte, error)

// Inspect prints every object found; errors for the others are reported
// after the output (last one decides the message), with exit status 1 —
// so `inspect missing` prints "[]" and then the error, as docker does.
func Inspect(out io.Writer, refs []string, format string, get GetRefFunc) error {
	var raws [][]byte
	var lastErr error
	var tmplOut bytes.Buffer
	useTemplate := format != "" && format != "json"
	var tmpl interface {
		Execute(io.Writer, any) error
	}
	if useTemplate {
		t, err := formatter.NewTemplate(format)
		if err != nil {
			return command.StatusError{Status: "Template parsing error: " + errors.Unwrap(err).Error(), StatusCode: 64}
		}
		tmpl = t
	}
	for _, ref := range refs {
		v, raw, err := get(ref)
		if err != nil {
			lastErr = err
			continue
		}
		if raw == nil {
			raw, _ = json.Marshal(v)
		}
		if !useTemplate {
			raws = append(raws, raw)
			continue
		}
		// Templates run on the raw JSON decoded into generic maps, so
		// fields the typed struct does not know still work, and field
		// names match the wire JSON as users expect from docker.
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			generic = v
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, generic); err != nil {
			if err2 := tmpl.Execute(&b, v); err2 != nil {
				return command.StatusError{Status: fmt.Sprintf("template: %v", err), StatusCode: 1}
			}
		}
		tmplOut.Write(b.Bytes())
		tmplOut.WriteString("\n")
	}
	if useTemplate {
		out.Write(tmplOut.Bytes())
	} else if len(raws) == 0 {
		io.WriteString(out, "[]\n")
	} else {
		buf := []byte("[")
		for i, r := range raws {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, r...)
		}
		buf = append(buf, ']')
		var ind bytes.Buffer
		if err := json.Indent(&ind, buf, "", "    "); err != nil {
			return err
		}
		ind.WriteString("\n")
		out.Write(ind.Bytes())
	}
	if lastErr != nil {
		return command.StatusError{Cause: lastErr, Status: command.Message(lastErr), StatusCode: 1}
	}
	return nil
}
