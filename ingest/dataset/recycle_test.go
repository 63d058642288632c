package dataset

import (
	"testing"
	"unsafe"
)

func TestRecycler(t *testing.T) {
	var r recycler
	for _, size := range []int{0, 1, 63, 64, 65, 4000, 65536, 100000} {
		b := r.Allocate(size)
		if len(b) != size {
			t.Fatalf("Allocate(%d): len %d", size, len(b))
		}
		if cap(b) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b[:1])))%64 != 0 {
			t.Errorf("Allocate(%d) is not 64-byte aligned", size)
		}
		for i := range b {
			b[i] = 0xaa
		}
		r.Free(b)
		again := r.Allocate(size)
		if cap(again) > 0 && unsafe.SliceData(again[:1]) != unsafe.SliceData(b[:1]) {
			t.Errorf("Allocate(%d) after Free did not reuse the buffer", size)
		}
		r.Free(again)
	}
	// A buffer that is not of a class is left to the garbage collector.
	r.Free(make([]byte, 100))
	if got := r.Allocate(100); cap(got) != 128 {
		t.Errorf("Allocate(100) has capacity %d, want 128", cap(got))
	}
	// Growing keeps the bytes.
	b := r.Allocate(10)
	copy(b, "0123456789")
	b = r.Reallocate(1000, b)
	if string(b[:10]) != "0123456789" || len(b) != 1000 {
		t.Errorf("Reallocate lost the bytes: %q, len %d", b[:10], len(b))
	}
}
