package archive

import (
	"math/bits"
	"sync"
)

// The data of deferred files (up to maxDeferredFile) is read into buffers
// that the workers hand back once written: tens of MB per layer that would
// otherwise be allocated and zeroed a file at a time. Buffers come in
// powers of two from minLeafBuf up; smaller files get a buffer of their
// own.
const (
	minLeafBuf     = 512
	leafBufClasses = 12 // 512 B << 11 = maxDeferredFile
)

var leafBufs [leafBufClasses]sync.Pool

// leafBufClass is the index of the smallest class holding n bytes.
func leafBufClass(n int) int {
	return bits.Len(uint(n-1) / minLeafBuf)
}

// getLeafBuf returns a buffer of n bytes (contents undefined).
func getLeafBuf(n int) []byte {
	if n < minLeafBuf || n > maxDeferredFile {
		return make([]byte, n)
	}
	k := leafBufClass(n)
	if b, ok := leafBufs[k].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, minLeafBuf<<k)
}

// putLeafBuf hands back a buffer from getLeafBuf.
func putLeafBuf(b []byte) {
	c := cap(b)
	if c < minLeafBuf || c > maxDeferredFile {
		return
	}
	k := leafBufClass(c)
	if minLeafBuf<<k != c {
		return
	}
	b = b[:0]
	leafBufs[k].Put(&b)
}
