package imageref

import "strings"

// match splits s by the reference grammar, name[:tag][@digest], as
// distribution/reference's ReferenceRegexp and anchoredNameRegexp do.
func match(s string) (Named, bool) {
	var n Named
	if i := strings.IndexByte(s, '@'); i >= 0 {
		if !isDigestPattern(s[i+1:]) {
			return n, false
		}
		s, n.digest = s[:i], s[i+1:]
	}
	// A ':' after the last '/' starts the tag: the name has ':' only in
	// its domain's port (or an IPv6 address), always before a '/'.
	if i := strings.LastIndexByte(s, ':'); i >= 0 && i > strings.LastIndexByte(s, '/') {
		if !isTag(s[i+1:]) {
			return n, false
		}
		s, n.tag = s[:i], s[i+1:]
	}
	if d, rest, ok := strings.Cut(s, "/"); ok && isDomain(d) && isRemoteName(rest) {
		n.domain, n.path = d, rest
		return n, true
	}
	n.path = s
	return n, isRemoteName(s)
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

func isWord(c byte) bool { return isAlnum(c) || c == '_' }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isTag: [\w][\w.-]{0,127}
func isTag(s string) bool {
	if len(s) == 0 || len(s) > 128 || !isWord(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isWord(s[i]) && s[i] != '.' && s[i] != '-' {
			return false
		}
	}
	return true
}

// isRemoteName: path components separated by '/'.
func isRemoteName(s string) bool {
	for {
		c, rest, more := strings.Cut(s, "/")
		if !isPathComponent(c) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// isPathComponent: [a-z0-9]+ separated by one of '.', '_', '__' or a
// run of '-'.
func isPathComponent(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); {
		if isLowerAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isLowerAlnum(s[j]) {
			j++
		}
		if !isSeparator(s[i:j]) {
			return false
		}
		i = j
	}
	return true
}

func isSeparator(s string) bool {
	switch s {
	case ".", "_", "__":
		return true
	}
	return strings.Trim(s, "-") == ""
}

// isDomain: a host (DNS name or [IPv6]) with an optional :port.
func isDomain(s string) bool {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return false
		}
		host, port = s[:i+1], s[i+1:]
		if !isIPv6(host) {
			return false
		}
	} else {
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i:]
		}
		if !isDomainName(host) {
			return false
		}
	}
	if port == "" {
		return true
	}
	return len(port) > 1 && port[0] == ':' && strings.Trim(port[1:], "0123456789") == ""
}

func isIPv6(s string) bool {
	inner := s[1 : len(s)-1]
	return inner != "" && strings.Trim(inner, "0123456789abcdefABCDEF:") == ""
}

func isDomainName(s string) bool {
	for {
		c, rest, more := strings.Cut(s, ".")
		if c == "" || !isAlnum(c[0]) || !isAlnum(c[len(c)-1]) {
			return false
		}
		for i := 0; i < len(c); i++ {
			if !isAlnum(c[i]) && c[i] != '-' {
				return false
			}
		}
		if !more {
			return true
		}
		s = rest
	}
}

// isDigestPattern: [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*
// ':' and at least 32 hex digits.
func isDigestPattern(s string) bool {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok || len(hex) < 32 || strings.TrimFunc(hex, func(r rune) bool { return r < 128 && isHex(byte(r)) }) != "" {
		return false
	}
	return isAlgorithm(alg)
}

func isAlgorithm(alg string) bool {
	start := true
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		switch {
		case start:
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
			start = false
		case strings.IndexByte("-_+.", c) >= 0:
			start = true
		case !isAlnum(c):
			return false
		}
	}
	return alg != "" && !start
}

// isIdentifier: 64 lowercase hex digits (an image ID).
func isIdentifier(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// validateDigest is go-digest's Digest.Validate for the algorithms a
// berth binary links (sha256, sha384, sha512).
func validateDigest(s string) error {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i+1 == len(s) {
		return ErrDigestInvalidFormat
	}
	alg, enc := s[:i], s[i+1:]
	size := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[alg]
	if size == 0 {
		if !isDigestSyntax(alg, enc) {
			return ErrDigestInvalidFormat
		}
		return ErrDigestUnsupported
	}
	if len(enc) != size {
		return ErrDigestInvalidLength
	}
	if !isIdentifier(enc[:64]) || !isIdentifier(enc[len(enc)-64:]) {
		return ErrDigestInvalidFormat
	}
	return nil
}

// isDigestSyntax is go-digest's digest grammar:
// [a-z0-9]+(?:[.+_-][a-z0-9]+)* ':' [a-zA-Z0-9=_-]+.
func isDigestSyntax(alg, enc string) bool {
	for _, c := range strings.FieldsFunc(alg, func(r rune) bool { return strings.ContainsRune(".+_-", r) }) {
		if strings.Trim(c, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return false
		}
	}
	if alg == "" || strings.IndexByte(".+_-", alg[0]) >= 0 || strings.IndexByte(".+_-", alg[len(alg)-1]) >= 0 || strings.ContainsAny(alg, ".+_-") && hasDoubleSep(alg) {
		return false
	}
	return enc != "" && strings.Trim(enc, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-") == ""
}

func hasDoubleSep(s string) bool {
	for i := 1; i < len(s); i++ {
		if strings.IndexByte(".+_-", s[i]) >= 0 && strings.IndexByte(".+_-", s[i-1]) >= 0 {
			return true
		}
	}
	return false
}
