//go:build !linux

package prefault

// Heap does nothing but on Linux.
func Heap(n int) {}
