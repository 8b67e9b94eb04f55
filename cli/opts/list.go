package opts

import "strings"

// ListOpts is a repeatable flag whose help type reads like docker's
// ("list", "ulimit", "mount", ...). Each occurrence adds one value; values
// are not split on commas.
type ListOpts struct {
	values   *[]string
	typeName string
}

// NewListOpts returns a repeatable flag storing into values.
func NewListOpts(values *[]string, typeName string) *ListOpts {
	return &ListOpts{values: values, typeName: typeName}
}

func (l *ListOpts) String() string {
	if len(*l.values) == 0 {
		return ""
	}
	return "[" + strings.Join(*l.values, " ") + "]"
}
func (l *ListOpts) Set(v string) error { *l.values = append(*l.values, v); return nil }
func (l *ListOpts) Type() string       { return l.typeName }

// StringValue is a string flag with a docker-style help type ("bytes",
// "decimal", "network").
type StringValue struct {
	p        *string
	typeName string
}

// NewStringValue returns a single-valued flag storing into p.
func NewStringValue(p *string, typeName string) *StringValue {
	return &StringValue{p: p, typeName: typeName}
}

func (s *StringValue) String() string     { return *s.p }
func (s *StringValue) Set(v string) error { *s.p = v; return nil }
func (s *StringValue) Type() string       { return s.typeName }
