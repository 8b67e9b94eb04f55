package archive

import "testing"

func TestLeafBufClasses(t *testing.T) {
	if minLeafBuf<<(leafBufClasses-1) != maxDeferredFile {
		t.Fatalf("the largest class (%d) is not maxDeferredFile (%d)", minLeafBuf<<(leafBufClasses-1), maxDeferredFile)
	}
	for _, n := range []int{0, 1, 511, 512, 513, 1024, 1025, 4096, 70000, maxDeferredFile - 1, maxDeferredFile, maxDeferredFile + 1} {
		b := getLeafBuf(n)
		if len(b) != n {
			t.Fatalf("getLeafBuf(%d): len %d", n, len(b))
		}
		if n >= minLeafBuf && n <= maxDeferredFile && (cap(b) < n || cap(b) >= 2*n && cap(b) > minLeafBuf) {
			t.Fatalf("getLeafBuf(%d): cap %d", n, cap(b))
		}
		putLeafBuf(b)
		if b2 := getLeafBuf(n); len(b2) != n {
			t.Fatalf("reused getLeafBuf(%d): len %d", n, len(b2))
		}
	}
}

func TestIsBelow(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"a/b", "a", true}, {"a/b/c", "a/b", true}, {"a/b", "a/b", false}, {"ab", "a", false},
		{"ab/c", "a", false}, {"a", "a/b", false}, {"a/", "a", true}, {"", "", false},
	} {
		if got := isBelow(c.a, c.b); got != c.want {
			t.Errorf("isBelow(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
