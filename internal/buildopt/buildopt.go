// Package buildopt parses the comma-separated key=value values of BuildKit
// build flags (--secret, --output, --cache-from, --cache-to), as buildx
// writes them. The client checks them before a build, berthd reads the
// cache ones; it is a leaf package so the client links nothing else.
package buildopt

import (
	"encoding/csv"
	"fmt"
	"strings"
)

// KV splits "k=v,k2=v2" (CSV, so values may be quoted); keys are
// lower-cased. A field without "=" is an error.
func KV(s string) (map[string]string, error) {
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("invalid field %q: must be a key=value pair", f)
		}
		m[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return m, nil
}

// AnyLocalCache reports whether one of the --cache-from/--cache-to values
// is a local cache store (reached only over a client session); the first
// unreadable value is an error.
func AnyLocalCache(lists ...[]string) (bool, error) {
	for _, list := range lists {
		for _, s := range list {
			typ, _, err := Cache(s)
			if err != nil {
				return false, err
			}
			if typ == "local" {
				return true, nil
			}
		}
	}
	return false, nil
}

// Cache reads one --cache-from/--cache-to value: "type=T,k=v,..." or a
// bare image name, which is a registry cache (as dockerd's cachefrom).
func Cache(s string) (typ string, attrs map[string]string, err error) {
	if !strings.Contains(s, "=") {
		return "registry", map[string]string{"ref": s}, nil
	}
	m, err := KV(s)
	if err != nil {
		return "", nil, fmt.Errorf("invalid cache option %q: %w", s, err)
	}
	typ = m["type"]
	delete(m, "type")
	if typ == "" {
		return "", nil, fmt.Errorf("invalid cache option %q: type required", s)
	}
	return typ, m, nil
}
