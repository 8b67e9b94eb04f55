package client

import (
	"encoding/json"
	"maps"
	"net/url"
)

// Filters are the API's filters query parameter: term → set of values.
type Filters map[string]map[string]bool

// Add adds values under term and returns f.
func (f Filters) Add(term string, values ...string) Filters {
	if _, ok := f[term]; !ok {
		f[term] = make(map[string]bool)
	}
	for _, v := range values {
		f[term][v] = true
	}
	return f
}

// Clone returns a deep copy of f.
func (f Filters) Clone() Filters {
	out := make(Filters, len(f))
	for term, values := range f {
		out[term] = maps.Clone(values)
	}
	return out
}

// updateURLValues sets (or, when empty, removes) the filters parameter.
func (f Filters) updateURLValues(q url.Values) {
	if len(f) == 0 {
		q.Del("filters")
		return
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	q.Set("filters", string(b))
}
