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
	methods []int
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
			i, ok := plainMethod(n, typ)
			if !ok {
				return nil
			}
			p.methods = append(p.methods, i)
			p.text = append(p.text, "")
		default:
			return nil
		}
	}
	return p
}

// plainMethod is the index of the method {{.Name}} calls, if that is all
// the action does and the method returns just a string.
func plainMethod(n *parse.ActionNode, typ reflect.Type) (int, bool) {
	if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
		return 0, false
	}
	f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return 0, false
	}
	m, ok := typ.MethodByName(f.Ident[0])
	if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0) != stringType {
		return 0, false
	}
	return m.Index, true
}

// execute writes one row; a method's panic becomes an error, as in
// text/template.
func (p *plainTemplate) execute(buf *bytes.Buffer, row any) (err error) {
	v := reflect.ValueOf(row)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("template: %v", r)
		}
	}()
	for i, m := range p.methods {
		buf.WriteString(p.text[i])
		buf.WriteString(v.Method(m).Call(nil)[0].String())
	}
	buf.WriteString(p.text[len(p.text)-1])
	return nil
}
