// Package stringid makes and shortens the 64-hex-character IDs of containers,
// execs and images.
package stringid

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// ShortLen is how many characters of an ID are shown by default.
const ShortLen = 12

// New returns a random 64-character lowercase hex ID that is not all digits
// (Docker avoids those so that a short ID never parses as a number).
func New() string {
	b := make([]byte, 32)
	for {
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		id := hex.EncodeToString(b)
		if strings.TrimLeft(id[:ShortLen], "0123456789") != "" {
			return id
		}
	}
}

// Short returns the first 12 characters of id, without any "sha256:" prefix.
func Short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > ShortLen {
		return id[:ShortLen]
	}
	return id
}

// IsHex reports whether s is non-empty lowercase hex.
func IsHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsFull reports whether s is a whole ID: 64 lowercase hex characters.
func IsFull(s string) bool { return len(s) == 64 && IsHex(s) }
