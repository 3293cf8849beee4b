package sdk

import (
	"io"
	"sync/atomic"
)

// CountingReader counts the bytes read through it: a file provider wraps
// the file in one and reports Count as its Progress in ProgressBytes. A
// decompressor may read it from a goroutine of its own, so N is updated
// atomically: read it with Count while reading goes on.
type CountingReader struct {
	R io.Reader
	N int64 // the count so far; set a starting count before reading
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	atomic.AddInt64(&c.N, int64(n))
	return n, err
}

// Count is the number of bytes read so far (N), safe while another
// goroutine reads.
func (c *CountingReader) Count() int64 { return atomic.LoadInt64(&c.N) }
