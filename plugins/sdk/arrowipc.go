package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// EncodeSchema serialises a schema as Arrow IPC stream bytes holding only the
// schema message (and the end-of-stream marker).
func EncodeSchema(schema *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode arrow schema: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeSchema reads the schema from Arrow IPC stream bytes.
func DecodeSchema(b []byte) (*arrow.Schema, error) {
	r, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode arrow schema: %w", err)
	}
	defer r.Release()
	return r.Schema(), nil
}

// AppendBatch serialises rec as an Arrow IPC stream (schema, one batch, end
// marker) appended to buf, and returns the extended buffer.
func AppendBatch(buf []byte, rec arrow.RecordBatch) ([]byte, error) {
	w := sliceWriter{b: buf}
	iw := ipc.NewWriter(&w, ipc.WithSchema(rec.Schema()))
	if err := iw.Write(rec); err != nil {
		_ = iw.Close()
		return buf, fmt.Errorf("encode arrow batch: %w", err)
	}
	if err := iw.Close(); err != nil {
		return buf, fmt.Errorf("encode arrow batch: %w", err)
	}
	return w.b, nil
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// DecodeBatches reads every record batch in Arrow IPC stream bytes and calls
// fn with each; the batch is released when fn returns (fn calls Retain to keep
// it). It returns an error for bytes that are not a valid IPC stream.
func DecodeBatches(b []byte, fn func(arrow.RecordBatch) error) (*arrow.Schema, error) {
	return decodeBatches(b, memory.DefaultAllocator, fn)
}

func decodeBatches(b []byte, mem memory.Allocator, fn func(arrow.RecordBatch) error) (schema *arrow.Schema, err error) {
	defer func() {
		// The IPC reader trusts lengths in the message metadata; hostile or
		// corrupt bytes can make it panic. Turn that into an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid arrow IPC data: %v", r)
		}
	}()
	r, err := ipc.NewReaderFromMessageReader(&bytesMessageReader{b: b}, ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("invalid arrow IPC data: %w", err)
	}
	defer r.Release()
	schema = r.Schema()
	for r.Next() {
		rec := r.RecordBatch()
		if err := validateBatch(rec); err != nil {
			return schema, err
		}
		if err := fn(rec); err != nil {
			return schema, err
		}
	}
	if err := r.Err(); err != nil {
		return schema, fmt.Errorf("invalid arrow IPC data: %w", err)
	}
	return schema, nil
}

// validateBatch checks the structural invariants the IPC reader does not.
func validateBatch(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	for i, col := range rec.Columns() {
		if int64(col.Len()) != n {
			return fmt.Errorf("invalid arrow batch: column %q has %d rows, batch has %d", rec.ColumnName(i), col.Len(), n)
		}
	}
	return nil
}

// SchemaMismatch describes how got differs from want, or returns "" when the
// two have the same field names, types and nullability in the same order.
// Metadata is ignored.
func SchemaMismatch(want, got *arrow.Schema) string {
	if want == nil || got == nil {
		if want == got {
			return ""
		}
		return "missing schema"
	}
	if want.NumFields() != got.NumFields() {
		return fmt.Sprintf("%d fields (%s), want %d (%s)", got.NumFields(), fieldNames(got), want.NumFields(), fieldNames(want))
	}
	for i := range want.NumFields() {
		w, g := want.Field(i), got.Field(i)
		switch {
		case w.Name != g.Name:
			return fmt.Sprintf("field %d is %q, want %q", i, g.Name, w.Name)
		case !arrow.TypeEqual(w.Type, g.Type):
			return fmt.Sprintf("field %q has type %s, want %s", w.Name, g.Type, w.Type)
		case w.Nullable != g.Nullable:
			return fmt.Sprintf("field %q has nullable=%t, want %t", w.Name, g.Nullable, w.Nullable)
		}
	}
	return ""
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i := range names {
		names[i] = s.Field(i).Name
	}
	return strings.Join(names, ", ")
}

// Errors a host can test for with errors.Is.
var (
	// ErrMalformedBatch: a batch was not valid Arrow IPC, or its schema did
	// not match the stream's.
	ErrMalformedBatch = errors.New("malformed record batch")
	// ErrNoMessage: the plugin sent nothing within the hang timeout.
	ErrNoMessage = errors.New("no message from plugin within the hang timeout")
	// ErrIncomplete: the stream ended without its completion message, or
	// the counts in it did not match what arrived.
	ErrIncomplete = errors.New("fetch stream ended incomplete")
)

// bytesMessageReader reads IPC messages from a byte slice without copying:
// the arrays of the decoded batches point into b.
type bytesMessageReader struct {
	b   []byte
	off int
}

func (r *bytesMessageReader) Retain()  {}
func (r *bytesMessageReader) Release() {}

func (r *bytesMessageReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, fmt.Errorf("truncated IPC message: need %d bytes at offset %d, have %d", n, r.off, len(r.b)-r.off)
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

func (r *bytesMessageReader) Message() (*ipc.Message, error) {
	if r.off == len(r.b) {
		return nil, io.EOF
	}
	p, err := r.take(4)
	if err != nil {
		return nil, err
	}
	n := int32(binary.LittleEndian.Uint32(p))
	if uint32(n) == 0xFFFFFFFF { // continuation marker, then the length
		if p, err = r.take(4); err != nil {
			return nil, err
		}
		n = int32(binary.LittleEndian.Uint32(p))
	}
	if n == 0 {
		return nil, io.EOF // end-of-stream marker
	}
	if n < 4 {
		return nil, fmt.Errorf("invalid IPC message metadata length %d", n)
	}
	meta, err := r.take(int(n))
	if err != nil {
		return nil, err
	}
	metaBuf := memory.NewBufferBytes(meta)
	probe := ipc.NewMessage(metaBuf, memory.NewBufferBytes(nil))
	bodyLen := probe.BodyLen()
	probe.Release()
	if bodyLen < 0 || bodyLen > int64(len(r.b)-r.off) {
		return nil, fmt.Errorf("invalid IPC message body length %d (%d bytes left)", bodyLen, len(r.b)-r.off)
	}
	body, err := r.take(int(bodyLen))
	if err != nil {
		return nil, err
	}
	return ipc.NewMessage(metaBuf, memory.NewBufferBytes(body)), nil
}
