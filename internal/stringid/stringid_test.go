package stringid

import (
	"strings"
	"testing"
)

func TestIsFull(t *testing.T) {
	if id := New(); !IsFull(id) {
		t.Errorf("New() = %q is not a whole ID", id)
	}
	for _, s := range []string{"", "abc", strings.Repeat("a", 63), strings.Repeat("a", 65), strings.Repeat("A", 64), strings.Repeat("g", 64)} {
		if IsFull(s) {
			t.Errorf("IsFull(%q) = true", s)
		}
	}
}
