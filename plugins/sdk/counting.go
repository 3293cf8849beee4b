package sdk

import "io"

// CountingReader counts the bytes read through it: a file provider wraps
// the file in one and reports N as its Progress in ProgressBytes.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
