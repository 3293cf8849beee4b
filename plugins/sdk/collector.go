package sdk

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Collector is a Sender that keeps everything it receives in memory, for
// tests and small tools. It is safe for concurrent use. Call Release to free
// the batches it holds.
type Collector struct {
	mu        sync.Mutex
	Batches   map[string][]arrow.RecordBatch // by stream
	Rows      map[string]int64               // by stream
	Maps      []SymbolMapping
	Progs     []Progress
	Warnings  []string
	RowErrors []RowError
	// State and Notes are the last checkpoint's state and every note.
	State []byte
	Notes []string
	// Live holds every LiveCheckpoint, in order.
	Live []LiveCheckpoint
	// Discard, when set, counts rows without keeping batches.
	Discard bool
}

var _ Sender = (*Collector)(nil)

// Batch implements Sender.
func (c *Collector) Batch(stream string, rec arrow.RecordBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Rows == nil {
		c.Rows = map[string]int64{}
		c.Batches = map[string][]arrow.RecordBatch{}
	}
	c.Rows[stream] += rec.NumRows()
	if !c.Discard {
		rec.Retain()
		c.Batches[stream] = append(c.Batches[stream], rec)
	}
	return nil
}

// Mappings implements Sender.
func (c *Collector) Mappings(m []SymbolMapping) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Maps = append(c.Maps, m...)
	return nil
}

// Progress implements Sender.
func (c *Collector) Progress(p Progress) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Progs = append(c.Progs, p)
	return nil
}

// Warn implements Sender.
func (c *Collector) Warn(msg string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Warnings = append(c.Warnings, msg)
	return nil
}

// Checkpoint implements Sender.
func (c *Collector) Checkpoint(state []byte, note string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.State = append([]byte(nil), state...)
	c.Notes = append(c.Notes, note)
	return nil
}

// LiveCheckpoint implements Sender.
func (c *Collector) LiveCheckpoint(lc LiveCheckpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Live = append(c.Live, lc)
	return nil
}

// RowError implements Sender.
func (c *Collector) RowError(e RowError) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.RowErrors = append(c.RowErrors, e)
	return nil
}

// TotalRows returns the rows received over all streams.
func (c *Collector) TotalRows() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, r := range c.Rows {
		n += r
	}
	return n
}

// Release frees the batches held.
func (c *Collector) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, bs := range c.Batches {
		for _, b := range bs {
			b.Release()
		}
	}
	c.Batches = nil
	c.Rows = nil
}
