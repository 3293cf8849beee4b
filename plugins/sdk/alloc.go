package sdk

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poolAllocator is an Arrow allocator that recycles buffers through
// size-classed pools (powers of two). Arrow frees a buffer only when its
// reference count drops to zero, so a batch sent and released gives its
// buffers back for the next batch instead of the garbage collector zeroing
// fresh ones. Memory from it is not zeroed; Arrow's builders do not need it.
type poolAllocator struct {
	pools [64]sync.Pool
}

// batchAllocator backs every BatchWriter.
var batchAllocator = &poolAllocator{}

var _ memory.Allocator = (*poolAllocator)(nil)

const minClass = 6 // 64 bytes

func sizeClass(n int) int {
	if n <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(n - 1))
}

func (a *poolAllocator) Allocate(size int) []byte {
	c := sizeClass(size)
	if p, ok := a.pools[c].Get().(*[]byte); ok {
		return (*p)[:size]
	}
	return make([]byte, size, 1<<c)
}

func (a *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

func (a *poolAllocator) Free(b []byte) {
	c := cap(b)
	if c < 1<<minClass || c&(c-1) != 0 {
		return // not one of ours (or too small to matter): leave it to the GC
	}
	b = b[:0]
	a.pools[bits.Len(uint(c))-1].Put(&b)
}
