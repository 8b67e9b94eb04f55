package opts

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/berth-dev/berth/cli/client"
)

// MapOpts is docker's "map" flag type (-o, --aux-address, --ipam-opt):
// each occurrence adds KEY=VALUE; a bare KEY maps to "". Its default shows
// as "map[]" in the help, as docker's does.
type MapOpts struct{ values map[string]string }

func NewMapOpts() *MapOpts { return &MapOpts{values: map[string]string{}} }

func (m *MapOpts) Set(v string) error {
	k, val, _ := strings.Cut(v, "=")
	m.values[k] = val
	return nil
}
func (m *MapOpts) String() string { return fmt.Sprintf("%v", m.values) }
func (m *MapOpts) Type() string   { return "map" }

// all returns the map, or nil when the flag was never given, so requests
// omit the field as docker's do.
func (m *MapOpts) All() map[string]string {
	if len(m.values) == 0 {
		return nil
	}
	return m.values
}

// FilterOpt is docker's "filter" flag type: a value without "=" is a flag
// error (exit status 125), raised at parse time like docker's.
type FilterOpt struct{ Filters client.Filters }

func NewFilterOpt() *FilterOpt { return &FilterOpt{Filters: client.Filters{}} }

func (f *FilterOpt) Set(v string) error {
	if v == "" {
		return nil
	}
	name, val, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("bad format of filter (expected name=value)")
	}
	f.Filters.Add(strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(val))
	return nil
}
func (f *FilterOpt) String() string { return "" }
func (f *FilterOpt) Type() string   { return "filter" }

// NaturalLess orders names as docker's lists do (sortorder.NaturalCompare):
// digit runs compare by value, so "net2" sorts before "net10".
func NaturalLess(a, b string) bool {
	for a != "" && b != "" {
		ca, cb := rune(a[0]), rune(b[0])
		if unicode.IsDigit(ca) && unicode.IsDigit(cb) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			if da != db {
				return da < db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if ca != cb {
			return ca < cb
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
