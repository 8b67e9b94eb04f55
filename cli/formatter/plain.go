package formatter

import (
	"bytes"
	"fmt"
	"reflect"
	"text/template"
	"text/template/parse"
)

var stringType = reflect.TypeFor[string]()

// plainTemplate is a --format template made only of text and {{.Name}}
// actions, each naming a method of the row type that takes no argument
// and returns a string: ps's, images' and the other lists' default
// tables. It gives the same output as the template without text/template's
// per-row, per-field method lookup by name (reflect.MethodByName builds a
// function type each time): a 200-row `ps` table took several milliseconds
// of the command's CPU that way.
type plainTemplate struct {
	typ     reflect.Type
	text    []string // text[i] comes before method i; the last after all
	methods []reflect.Method
}

// newPlainTemplate returns nil if t is not plain for rows of type typ.
func newPlainTemplate(t *template.Template, typ reflect.Type) *plainTemplate {
	if t.Tree == nil || t.Tree.Root == nil || typ == nil {
		return nil
	}
	p := &plainTemplate{typ: typ, text: []string{""}}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			p.text[len(p.text)-1] += string(n.Text)
		case *parse.ActionNode:
			m, ok := plainMethod(n, typ)
			if !ok {
				return nil
			}
			p.methods = append(p.methods, m)
			p.text = append(p.text, "")
		default:
			return nil
		}
	}
	return p
}

// plainMethod is the method {{.Name}} calls, if that is all the action
// does and the method returns just a string.
func plainMethod(n *parse.ActionNode, typ reflect.Type) (reflect.Method, bool) {
	if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
		return reflect.Method{}, false
	}
	f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return reflect.Method{}, false
	}
	m, ok := typ.MethodByName(f.Ident[0])
	if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0) != stringType {
		return reflect.Method{}, false
	}
	return m, true
}

// rowWriter returns how to write one row of type T, or nil if the format
// is not plain for T's rows. For a concrete T each {{.Name}} is a direct
// call of T's method (as a func(T) string); for an interface T (rows of
// mixed types) the row's dynamic type must be that of rows[0], and the
// methods are called through reflect. The writer reports false for a row
// it did not write (text/template then does).
func rowWriter[T any](t *template.Template, rows []T) func(*bytes.Buffer, T) (bool, error) {
	if len(rows) == 0 {
		return nil
	}
	typ := reflect.TypeFor[T]()
	if typ.Kind() == reflect.Interface {
		p := newPlainTemplate(t, reflect.TypeOf(any(rows[0])))
		if p == nil {
			return nil
		}
		return func(buf *bytes.Buffer, r T) (bool, error) {
			if reflect.TypeOf(any(r)) != p.typ {
				return false, nil
			}
			v := reflect.ValueOf(any(r))
			return true, p.write(buf, func(m int) string { return v.Method(p.methods[m].Index).Call(nil)[0].String() })
		}
	}
	p := newPlainTemplate(t, typ)
	if p == nil {
		return nil
	}
	fns := make([]func(T) string, len(p.methods))
	for i, m := range p.methods {
		fns[i] = m.Func.Interface().(func(T) string)
	}
	return func(buf *bytes.Buffer, r T) (bool, error) {
		return true, p.write(buf, func(m int) string { return fns[m](r) })
	}
}

// write writes one row, field(i) giving the value of the i-th action; a
// method's panic becomes an error, as in text/template.
func (p *plainTemplate) write(buf *bytes.Buffer, field func(int) string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("template: %v", r)
		}
	}()
	for i := range p.methods {
		buf.WriteString(p.text[i])
		buf.WriteString(field(i))
	}
	buf.WriteString(p.text[len(p.text)-1])
	return nil
}
