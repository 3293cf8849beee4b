package sdk

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// DefaultBatchRows is the number of rows per record batch when neither the
// host nor the provider asks for another.
const DefaultBatchRows = 8192

// BatchWriter builds record batches of one stream with Arrow's typed builders
// and sends a batch to a Sender every N rows. A provider appends one value per
// column with the builders from Field (type-asserted once, outside the loop),
// then calls EndRow:
//
//	w := sdk.NewBatchWriter(out, "trades", schema, req.BatchRows)
//	defer w.Release()
//	ts := w.Field(0).(*array.Int64Builder)
//	px := w.Field(1).(*array.Int64Builder)
//	for _, r := range records {
//		ts.Append(r.TsEvent)
//		px.Append(r.Price)
//		if err := w.EndRow(); err != nil {
//			return err
//		}
//	}
//	return w.Flush()
//
// A BatchWriter is not safe for concurrent use.
type BatchWriter struct {
	out    Sender
	stream string
	b      *array.RecordBuilder
	limit  int
	n      int   // rows in the batch being built
	total  int64 // rows sent
}

// NewBatchWriter returns a writer for stream that sends a batch every rows
// rows (DefaultBatchRows when rows <= 0). Call Release when done.
func NewBatchWriter(out Sender, stream string, schema *arrow.Schema, rows int) *BatchWriter {
	if rows <= 0 {
		rows = DefaultBatchRows
	}
	b := array.NewRecordBuilder(batchAllocator, schema)
	b.Reserve(rows)
	return &BatchWriter{out: out, stream: stream, b: b, limit: rows}
}

// Schema returns the schema of the batches.
func (w *BatchWriter) Schema() *arrow.Schema { return w.b.Schema() }

// Builder returns the underlying record builder.
func (w *BatchWriter) Builder() *array.RecordBuilder { return w.b }

// Field returns the builder of column i; type-assert it to the concrete
// builder (*array.Int64Builder, *array.StringBuilder, ...).
func (w *BatchWriter) Field(i int) array.Builder { return w.b.Field(i) }

// EndRow marks one row as complete (every column appended once) and sends
// the batch when it is full.
func (w *BatchWriter) EndRow() error {
	w.n++
	if w.n >= w.limit {
		return w.Flush()
	}
	return nil
}

// EndRows marks n rows as complete, for providers that append whole column
// slices (AppendValues), and sends the batch when it is full.
func (w *BatchWriter) EndRows(n int) error {
	w.n += n
	if w.n >= w.limit {
		return w.Flush()
	}
	return nil
}

// Pending returns the number of rows built but not sent yet.
func (w *BatchWriter) Pending() int { return w.n }

// Rows returns the number of rows sent so far.
func (w *BatchWriter) Rows() int64 { return w.total }

// Flush sends the rows built so far, if any, as one batch.
func (w *BatchWriter) Flush() error {
	if w.n == 0 {
		return nil
	}
	for i, f := range w.b.Fields() {
		if f.Len() != w.n {
			return fmt.Errorf("batch writer for stream %q: %d rows ended but column %q holds %d values: append exactly one value per column before EndRow",
				w.stream, w.n, w.b.Schema().Field(i).Name, f.Len())
		}
	}
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	w.n = 0
	w.b.Reserve(w.limit)
	if err := w.out.Batch(w.stream, rec); err != nil {
		return err
	}
	w.total += rec.NumRows()
	return nil
}

// Release frees the builders. It does not flush.
func (w *BatchWriter) Release() { w.b.Release() }
