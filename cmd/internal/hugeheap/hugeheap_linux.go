package hugeheap

import (
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Advise makes the heap's next n bytes (rounded to whole huge pages)
// memory advised for transparent huge pages, unless Disabled or there is
// nothing to ask for (wanted reports why). It
// allocates n bytes, which the runtime maps and does not touch (new
// memory is zero), advises the huge pages within them, then frees them
// and returns them to the system (debug.FreeOSMemory): the region costs
// no memory until the heap grows into it, and the soft memory limit does
// not count it. Call it once, early, while the heap is small. It returns
// the bytes advised.
func Advise(n int) (int, error) {
	if Disabled() || n < 2*hugePage || !wanted() {
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

// wanted tells whether advice could change anything and the region is
// safe to map: transparent huge pages are given to memory that asks for
// them, and no more than that (the kernel's "madvise" mode; under
// "always" the heap has them already, under "never" it cannot), and the
// kernel does not refuse mappings beyond its commit limit
// (vm.overcommit_memory 2), where mapping a region the size of the
// memory limit could fail the runtime's allocation, which is fatal.
func wanted() bool {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(mode, []byte("[madvise]")) {
		return false
	}
	oc, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	return err == nil && string(bytes.TrimSpace(oc)) != "2"
}
