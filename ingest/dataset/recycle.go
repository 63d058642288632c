package dataset

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// recycler is a memory.Allocator that keeps released buffers for the
// next batches instead of leaving them to the garbage collector, which
// would clear every new one. Its buffers are not cleared: it serves only
// the reader's index and fixed-width value buffers, whose every byte up
// to the length is written before use. String data never comes from it,
// since sinks may keep strings that point into their buffers.
type recycler struct {
	mu   sync.Mutex
	free [48][][]byte // by class: buffers of 1<<class bytes
}

// recycleKeep is how many buffers of one class are kept.
const recycleKeep = 64

var _ memory.Allocator = (*recycler)(nil)

// recycleClass is the class of the buffers that hold size bytes: at
// least 64 bytes, a power of two, so that Go's allocator aligns them to
// 64 bytes as memory.GoAllocator does.
func recycleClass(size int) int {
	return max(6, bits.Len(uint(max(size, 1)-1)))
}

func (r *recycler) Allocate(size int) []byte {
	c := recycleClass(size)
	r.mu.Lock()
	if l := r.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		r.free[c] = l[:len(l)-1]
		r.mu.Unlock()
		return b[:size]
	}
	r.mu.Unlock()
	return make([]byte, size, 1<<c)
}

func (r *recycler) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := r.Allocate(size)
	copy(nb, b)
	r.Free(b)
	return nb
}

func (r *recycler) Free(b []byte) {
	c := recycleClass(cap(b))
	if cap(b) != 1<<c {
		return // not one of ours
	}
	r.mu.Lock()
	if len(r.free[c]) < recycleKeep {
		r.free[c] = append(r.free[c], b[:0])
	}
	r.mu.Unlock()
}
