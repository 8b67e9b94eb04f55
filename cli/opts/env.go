// Package opts parses the values of docker-style flags (-e, --env-file, -l,
// --label-file, -p, --mount, --ulimit, --filter, ...) into API types.
package opts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ReadKVEnvStrings returns the variables of the env files followed by the
// -e values, as docker does (so -e overrides a file). Entries without "="
// are taken from the CLI's own environment when set there.
func ReadKVEnvStrings(files []string, override []string) ([]string, error) {
	return readKV(files, override, os.LookupEnv)
}

// ReadKVStrings is the same for labels: a bare key means an empty value.
func ReadKVStrings(files []string, override []string) ([]string, error) {
	return readKV(files, override, nil)
}

func readKV(files, override []string, lookup func(string) (string, bool)) ([]string, error) {
	var out []string
	for _, f := range files {
		lines, err := parseKeyValueFile(f, lookup)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	for _, v := range override {
		if lookup != nil {
			v = ValidateEnv(v, lookup)
		}
		out = append(out, v)
	}
	return out, nil
}

// ValidateEnv expands a bare "KEY" from the environment; values with "=" are
// returned unchanged, as are unset bare keys (the daemon ignores them).
func ValidateEnv(val string, lookup func(string) (string, bool)) string {
	if strings.Contains(val, "=") {
		return val
	}
	if v, ok := lookup(val); ok {
		return val + "=" + v
	}
	return val
}

// parseKeyValueFile reads docker's env/label file format: one KEY=VALUE per
// line, "#" comments, blank lines ignored, leading whitespace trimmed.
func parseKeyValueFile(filename string, lookup func(string) (string, bool)) ([]string, error) {
	fh, err := os.Open(filename)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("env file %s contains invalid utf8 bytes at line %d: %v", filename, n, b)
		}
		line := strings.TrimLeftFunc(string(b), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, hasValue := strings.Cut(line, "=")
		if key == "" {
			return nil, fmt.Errorf("no variable name on line '%s'", line)
		}
		if strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("variable '%s' contains whitespaces", key)
		}
		if hasValue {
			lines = append(lines, line)
			continue
		}
		if lookup == nil {
			lines = append(lines, line)
		} else if v, ok := lookup(key); ok {
			lines = append(lines, key+"="+v)
		}
	}
	return lines, sc.Err()
}

// ConvertKVStringsToMap turns KEY=VALUE strings into a map; a bare KEY maps
// to "".
func ConvertKVStringsToMap(values []string) map[string]string {
	m := make(map[string]string, len(values))
	for _, v := range values {
		k, val, _ := strings.Cut(v, "=")
		m[k] = val
	}
	return m
}
