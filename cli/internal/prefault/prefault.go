// Package prefault maps, in one madvise call each, the memory a short-lived
// berth command is about to touch anyway: the start of the Go heap and
// the program's data and bss. On a paravirtualised guest an anonymous or
// copy-on-write page fault costs about ten times what
// MADV_POPULATE_WRITE takes per page, and a berth command otherwise takes
// a few hundred of them.
//
// It imports only the runtime and syscall, so its init runs among the
// first (packages are initialised in import-path order once their
// imports are), before the packages whose initialisation allocates most
// (go-digest's regular expressions, unicode's tables). Where the kernel
// lacks MADV_POPULATE_WRITE (before Linux 5.14) madvise fails with EINVAL
// and nothing changes.
package prefault

import (
	"syscall"
	"unsafe"
)

const (
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE, Linux 5.14

	pageSize = 4096
	// arenaSize is the Go heap's arena size on 64-bit Linux: the heap is
	// mapped in aligned arenas of this size, so a range within the arena
	// of a heap address is mapped.
	arenaSize = 64 << 20
	// chunkSize is the unit in which the runtime maps the heap as it
	// grows (the page allocator's chunk, pallocChunkBytes).
	chunkSize = 4 << 20

	// initHeapPages is what the heap grows by between this package's
	// init and the end of a command that makes no large request (`berth
	// --version` touches ~100 new heap pages after it, spread over the
	// page caches of both Ps).
	initHeapPages = 384
	// bssPages is how far past the data segment's file-backed part the
	// bss is populated: the runtime's and the packages' variables that
	// are written at start-up; the rest of the bss (crypto's 32 MiB DRBG
	// buffer) is left alone.
	bssPages = 64

	atPHDR  = 3 // auxv: address of the program headers
	atPHNUM = 5 // auxv: number of program headers
	ptLoad  = 1
	ptPHDR  = 6
	pfW     = 2
)

// sink keeps the probe allocation on the heap.
var sink *[16]byte

func init() {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	for _, r := range dataRanges() {
		madvise(r[0], r[1]-r[0])
	}
	Heap(initHeapPages * pageSize)
}

// Heap populates n bytes of the heap from the page of a fresh allocation,
// where the heap's next pages come from, up to the end of its arena. A
// caller about to allocate n bytes or more calls it first.
func Heap(n int) {
	if unsafe.Sizeof(uintptr(0)) != 8 || n <= 0 {
		return
	}
	sink = new([16]byte)
	p := uintptr(unsafe.Pointer(sink))
	sink = nil
	heapFrom(p, n)
}

// heapFrom populates n bytes of the heap from the page of address p, up
// to the end of its arena and of what the runtime has mapped of it.
func heapFrom(p uintptr, n int) {
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
			return
		}
		p = next
	}
}

// dataRanges are the start and end of the writable segment's file-backed
// part (.data, .noptrdata: copy-on-write pages) and the first bssPages of
// the rest, for each writable segment.
func dataRanges() (ranges [][2]uintptr) {
	av := runtime_getAuxv()
	var phdr, phnum uintptr
	for i := 0; i+1 < len(av); i += 2 {
		switch av[i] {
		case atPHDR:
			phdr = av[i+1]
		case atPHNUM:
			phnum = av[i+1]
		}
	}
	if phdr == 0 {
		return nil
	}
	// The ELF program headers of the running program, as mapped; the
	// load bias is where PT_PHDR says they are against where they are
	// (zero but for a position-independent executable).
	type progHeader struct {
		typ, flags                              uint32
		off, vaddr, paddr, filesz, memsz, align uint64
	}
	// (phdr is an address outside the Go heap, read through a pointer to
	// it so that vet's uintptr check, meant for heap addresses, is not
	// set off.)
	hdrs := unsafe.Slice((*progHeader)(*(*unsafe.Pointer)(unsafe.Pointer(&phdr))), phnum)
	bias := uintptr(0)
	for _, h := range hdrs {
		if h.typ == ptPHDR {
			bias = phdr - uintptr(h.vaddr)
		}
	}
	for _, h := range hdrs {
		if h.typ != ptLoad || h.flags&pfW == 0 {
			continue
		}
		start := (bias + uintptr(h.vaddr)) &^ (pageSize - 1)
		n := bias + uintptr(h.vaddr+h.filesz) - start + bssPages*pageSize
		if max := bias + uintptr(h.vaddr+h.memsz) - start; n > max {
			n = max
		}
		ranges = append(ranges, [2]uintptr{start, start + n})
	}
	return ranges
}

// madvise populates n bytes at addr for writing. On an error (EINVAL on
// an older kernel or a range not mapped yet, ENOMEM, EFAULT) the pages
// just fault in on use, as they would have.
func madvise(addr, n uintptr) syscall.Errno {
	_, _, errno := syscall.RawSyscall(syscall.SYS_MADVISE, addr, n, madvPopulateWrite)
	return errno
}

// runtime_getAuxv is the process's auxiliary vector (key, value pairs),
// which the runtime keeps and exports for golang.org/x/sys.
//
//go:linkname runtime_getAuxv runtime.getAuxv
func runtime_getAuxv() []uintptr
