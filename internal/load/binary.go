package load

import (
	"context"
	"encoding/binary"
	"io"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/mapping"
)

// copyBatch COPYs the batch's rows not marked in rejected into table on tx's
// connection. When the plan allows it (mapping.Plan.CopyBinary), the rows
// are written in PostgreSQL's binary COPY format straight from the Arrow
// columns (mapping.Batch.AppendCopyRows), streamed to the server while they
// are encoded; otherwise it is pgx's CopyFrom over a []any per row. A row
// with a value its column cannot hold (a *mapping.ValueError) is left out
// and returned in bad, in row order, whether the COPY succeeds or not.
func copyBatch(ctx context.Context, tx pgx.Tx, table pgx.Identifier, b *mapping.Batch, rejected []bool) (copied int64, bad []*mapping.ValueError, err error) {
	if !b.Plan.CopyBinary() {
		src := newSource(b, rejected)
		copied, err = tx.CopyFrom(ctx, table, b.Plan.Columns, src)
		return copied, src.bad, err
	}
	r := newCopyReader(b, rejected)
	defer r.release()
	sql := "COPY " + table.Sanitize() + " (" + quoteList(b.Plan.Columns) + ") FROM STDIN BINARY"
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, r, sql)
	bad, serr := r.result()
	if serr != nil {
		// Our own encoding error, which the server only echoes back as
		// "COPY from stdin failed".
		return 0, bad, serr
	}
	return tag.RowsAffected(), bad, err
}

// copyChunk is how many bytes of rows copyReader encodes ahead, in calls
// to AppendCopyRows of copyRows rows.
const (
	copyChunk = 64 << 10
	copyRows  = 512
)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2*copyChunk); return &b }}

// copyReader is an io.Reader of a batch in binary COPY format: the header,
// the rows, the trailer. pgconn reads it from its own goroutine.
type copyReader struct {
	b        *mapping.Batch
	rejected []bool
	row      int
	buf      *[]byte
	off      int
	started  bool
	eof      bool

	mu  sync.Mutex
	err error
	bad []*mapping.ValueError // rows left out
}

func newCopyReader(b *mapping.Batch, rejected []bool) *copyReader {
	buf := copyBufs.Get().(*[]byte)
	*buf = (*buf)[:0]
	return &copyReader{b: b, rejected: rejected, buf: buf}
}

func (r *copyReader) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf != nil && cap(*r.buf) <= 16*copyChunk {
		copyBufs.Put(r.buf)
	}
	r.buf = nil
}

// result returns the rows left out and the encoding error, if any.
func (r *copyReader) result() ([]*mapping.ValueError, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad, r.err
}

func (r *copyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	if r.buf == nil {
		return 0, io.ErrClosedPipe
	}
	buf := *r.buf
	if r.off == len(buf) {
		if r.eof {
			return 0, io.EOF
		}
		buf, r.off = buf[:0], 0
		var err error
		if buf, err = r.fill(buf); err != nil {
			r.err = err
			*r.buf = buf[:0]
			return 0, err
		}
		*r.buf = buf
	}
	n := copy(p, buf[r.off:])
	r.off += n
	return n, nil
}

// fill encodes rows into buf until it holds copyChunk bytes or the batch
// ends (then it adds the trailer and sets eof).
func (r *copyReader) fill(buf []byte) ([]byte, error) {
	if !r.started {
		r.started = true
		buf = append(buf, "PGCOPY\n\377\r\n\000"...)
		buf = binary.BigEndian.AppendUint32(buf, 0) // flags
		buf = binary.BigEndian.AppendUint32(buf, 0) // header extension length
	}
	n := r.b.Len()
	for len(buf) < copyChunk && r.row < n {
		to := min(n, r.row+copyRows)
		var bad []*mapping.ValueError
		var err error
		buf, bad, err = r.b.AppendCopyRows(buf, r.row, to, r.rejected)
		if err != nil {
			return buf, err
		}
		r.bad = append(r.bad, bad...)
		r.row = to
	}
	if r.row >= n {
		buf = binary.BigEndian.AppendUint16(buf, 0xFFFF) // -1: end of data
		r.eof = true
	}
	return buf, nil
}
