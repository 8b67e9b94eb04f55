package prefault

import (
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// populateWorks skips the test where the kernel lacks MADV_POPULATE_WRITE
// (before Linux 5.14): there prefault does nothing, by design.
func populateWorks(t *testing.T) {
	t.Helper()
	mem, err := syscall.Mmap(-1, 0, pageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	if errno := madvise(uintptr(unsafe.Pointer(&mem[0])), pageSize); errno != 0 {
		t.Skipf("MADV_POPULATE_WRITE: %v", errno)
	}
}

// resident is how many of the pages in [start, end) are in memory
// (mincore).
func resident(t *testing.T, start, end uintptr) (in, all int) {
	t.Helper()
	vec := make([]byte, (end-start+pageSize-1)/pageSize)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, start, end-start, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore %#x-%#x: %v", start, end, errno)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// TestHeapPopulates checks that heapFrom brings the heap pages after an
// address into memory: here the pages of a large fresh object, which the
// runtime takes from the OS without touching them (memory fresh from the
// OS is already zero).
func TestHeapPopulates(t *testing.T) {
	populateWorks(t)
	big := make([]byte, 16<<20)
	start := uintptr(unsafe.Pointer(&big[0]))&^(pageSize-1) + pageSize
	end := start + 1<<20
	if in, all := resident(t, start, end); in == all {
		t.Skipf("the heap reused memory already touched (%d pages in memory)", in)
	}
	heapFrom(start, int(end-start))
	if in, all := resident(t, start, end); in != all {
		t.Errorf("%d of %d pages after heapFrom are in memory", in, all)
	}
	heapFrom(start, 0) // nothing to do
	runtime.KeepAlive(big)
}

// TestHeapContinues checks that a second Heap call populates the pages
// after the first one's instead of the same ones again (both start from
// the page of a fresh small allocation, which stays where it was).
func TestHeapContinues(t *testing.T) {
	populateWorks(t)
	const n = 64 << 10
	// Room in the mapped heap for both calls.
	room := make([]byte, 4<<20)
	Heap(n)
	first := done
	Heap(n)
	if done < first+n-pageSize {
		t.Errorf("second Heap(%d) ended at %#x, first at %#x: it did not go on from the first", n, done, first)
	}
	runtime.KeepAlive(room)
}

// TestNoHeapProfile checks that the package's init turned heap profiling
// off (it would unwind the stack of an allocation every 512 kB).
func TestNoHeapProfile(t *testing.T) {
	if runtime.MemProfileRate != 0 {
		t.Errorf("runtime.MemProfileRate = %d after prefault's init, want 0", runtime.MemProfileRate)
	}
}
