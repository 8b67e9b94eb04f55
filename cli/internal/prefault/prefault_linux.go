// Package prefault maps, in one madvise call, heap memory a short-lived
// berth command is about to touch anyway. On a paravirtualised guest an
// anonymous page fault costs several times what MADV_POPULATE_WRITE takes
// per page, and a berth command otherwise takes a few hundred of them.
// (The data segment is not worth it: by this package's init the runtime
// has touched most of the pages the command writes there.)
//
// It imports only the runtime and syscall, so its init runs among the
// first (packages are initialised in import-path order once their
// imports are), before the packages whose initialisation allocates most
// (go-digest's regular expressions, unicode's tables). Where the kernel
// lacks MADV_POPULATE_WRITE (before Linux 5.14) madvise fails with EINVAL
// and nothing changes. Elsewhere than on Linux it does nothing.
package prefault

import (
	"runtime"
	"syscall"
	"unsafe"
)

const (
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14

	pageSize = 4096
	// arenaSize is the Go heap's arena size on 64-bit Linux: the heap
	// grows within aligned arenas of this size.
	arenaSize = 64 << 20
	// chunkSize is the unit in which the runtime maps the heap as it
	// grows (the page allocator's chunk, pallocChunkBytes).
	chunkSize = 4 << 20

	// initHeapPages is about what the heap grows by between this
	// package's init and the end of a command that makes no large
	// request (`berth --version` touches ~100 new heap pages after it,
	// spread over the page caches of both Ps). Populating 192 pages or
	// 384 took --version from 408 page faults to 340 or 319.
	initHeapPages = 256
)

// sink keeps the probe allocation on the heap.
var sink *[16]byte

// done is the end of the range the last call populated. A fresh small
// allocation lands in a span the runtime took early, so a second call
// would otherwise populate the same pages again (`ps` of 200 containers
// then faulted in the 1.6 MB its decoding allocated beyond them, ~400
// faults): a later call starts where the last one ended.
var done uintptr

func init() {
	// No heap profile is ever taken of a berth command: without this,
	// about every 512 kB allocated the runtime records the allocating
	// stack (an unwind through the pclntab, which faults its pages in).
	// Set here because this init runs before the packages that allocate.
	runtime.MemProfileRate = 0
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	Heap(initHeapPages * pageSize)
}

// Heap populates n bytes of the heap from the page of a fresh allocation,
// where the heap's next pages come from, or from the end of what the last
// call populated if that is further on in the same arena, up to the end
// of the arena. A caller about to allocate n bytes or more calls it first.
func Heap(n int) {
	if unsafe.Sizeof(uintptr(0)) != 8 || n <= 0 {
		return
	}
	sink = new([16]byte)
	p := uintptr(unsafe.Pointer(sink))
	sink = nil
	if done > p && done&^(arenaSize-1) == p&^(arenaSize-1) {
		p = done
	}
	done = heapFrom(p, n)
}

// heapFrom populates n bytes of the heap from the page of address p, up
// to the end of its arena and of what the runtime has mapped of it, and
// returns the end of what it populated.
func heapFrom(p uintptr, n int) uintptr {
	p &^= pageSize - 1
	end := p + uintptr(n)
	if lim := p&^(arenaSize-1) + arenaSize; end > lim || end < p {
		end = lim
	}
	// The runtime maps the heap's arena chunk by chunk as it grows: one
	// call per chunk, up to the first that is not mapped yet.
	for p < end {
		next := min(p&^(chunkSize-1)+chunkSize, end)
		if madvise(p, next-p) != 0 {
			return p
		}
		p = next
	}
	return p
}

// madvise populates n bytes at addr for writing. On an error (EINVAL on
// an older kernel or a range not mapped yet, ENOMEM, EFAULT) the pages
// just fault in on use, as they would have.
func madvise(addr, n uintptr) syscall.Errno {
	_, _, errno := syscall.RawSyscall(syscall.SYS_MADVISE, addr, n, madvPopulateWrite)
	return errno
}
