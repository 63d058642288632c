package hugeheap

import (
	"runtime"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Advise makes the heap's next n bytes (rounded to whole huge pages)
// memory advised for transparent huge pages, unless Disabled. It
// allocates n bytes, which the runtime maps and does not touch (new
// memory is zero), advises the huge pages within them, then frees them
// and returns them to the system (debug.FreeOSMemory): the region costs
// no memory until the heap grows into it, and the soft memory limit does
// not count it. Call it once, early, while the heap is small. It returns
// the bytes advised.
func Advise(n int) (int, error) {
	if Disabled() || n < 2*hugePage {
		return 0, nil
	}
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	off := int((hugePage - p%hugePage) % hugePage)
	m := (n - off) &^ (hugePage - 1)
	err := unix.Madvise(b[off:off+m], unix.MADV_HUGEPAGE)
	runtime.KeepAlive(b)
	debug.FreeOSMemory()
	if err != nil {
		return 0, err
	}
	return m, nil
}
