package mapping

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Binary COPY rows encoded a column at a time (AppendCopyRows).
//
// AppendCopyRow encodes a row by calling each column's encoder in turn: an
// interface call, a NULL test and a range or text check per value, then
// the next column's. Profiling `hdi ingest` showed that dispatch, not the
// bytes, was most of the encoding's cost. AppendCopyRows takes a block of
// rows instead: each column first checks its values and adds their sizes
// (measure), the rows' offsets in the output follow from the sizes, then
// each column writes its values at those offsets (write), in one tight
// loop over the block of a concrete type. The bytes are the same as
// AppendCopyRow's (TestAppendCopyRowsMatchesRows).

// copyBlock is how many rows AppendCopyRows encodes per pass.
const copyBlock = 512

// colEncoder encodes one column of a block of rows. rows holds the block's
// row indices, -1 for a row that is left out (rejected, or a value of an
// earlier column its column cannot hold); measure and write skip those.
type colEncoder interface {
	// measure checks the values (bad(k, err) leaves row rows[k] out), adds
	// each row's field size to sizes[k] and returns the size every row's
	// field has on top of that (4 + width for a fixed-width column without
	// NULLs).
	measure(rows []int, sizes []int, bad func(k int, err error)) int
	// write writes row rows[k]'s field at buf[pos[k]:] and advances pos[k].
	write(buf []byte, rows []int, pos []int)
}

// bindColumns builds the block encoders: the readers' own where they have
// one, and fieldEncoder's bytes, row by row, for the others.
func (b *Batch) bindColumns() {
	if b.encoders == nil {
		b.bindBinary()
	}
	b.columns = make([]colEncoder, len(b.encoders))
	for j, e := range b.encoders {
		if ce, ok := e.(colEncoder); ok {
			b.columns[j] = ce
		} else {
			b.columns[j] = &rowEncoder{e: e}
		}
	}
}

// AppendCopyRows appends the rows [from, to) not marked in skip (nil:
// none) in PostgreSQL's binary COPY format to buf, as AppendCopyRow would
// one by one. Rows with a value their column cannot hold are left out and
// returned, in row order (ValueErrors). The plan must be CopyBinary.
func (b *Batch) AppendCopyRows(buf []byte, from, to int, skip []bool) ([]byte, []*ValueError, error) {
	if !b.Plan.CopyBinary() {
		return buf, nil, fmt.Errorf("mapping: plan for %s.%s cannot encode binary COPY rows", b.Plan.Table.Schema, b.Plan.Table.Table)
	}
	if b.columns == nil {
		b.bindColumns()
	}
	var bad []*ValueError
	for ; from < to; from += copyBlock {
		buf, bad = b.appendBlock(buf, from, min(to, from+copyBlock), skip, bad)
	}
	return buf, bad, nil
}

// appendBlock is AppendCopyRows of at most copyBlock rows; it appends the
// rows it leaves out to bad.
func (b *Batch) appendBlock(buf []byte, from, to int, skip []bool, bad []*ValueError) ([]byte, []*ValueError) {
	n := to - from
	sc := &b.scratch
	if cap(sc.rows) < n {
		sc.rows, sc.sizes, sc.pos, sc.errs = make([]int, n), make([]int, n), make([]int, n), make([]*ValueError, n)
	}
	rows, sizes, pos, errs := sc.rows[:n], sc.sizes[:n], sc.pos[:n], sc.errs[:n]
	clear(sizes)
	clear(errs)
	for k := range rows {
		rows[k] = from + k
		if skip != nil && skip[from+k] {
			rows[k] = -1
		}
	}
	col := 0
	failed := func(k int, err error) {
		errs[k] = b.Plan.valueError(rows[k], col, err)
		rows[k] = -1
	}
	fixed := 2 // the field count
	for j, c := range b.columns {
		col = j
		fixed += c.measure(rows, sizes, failed)
	}
	at := len(buf)
	for k, i := range rows {
		if errs[k] != nil {
			bad = append(bad, errs[k])
		}
		if i < 0 {
			continue
		}
		pos[k] = at
		at += fixed + sizes[k]
	}
	buf = growTo(buf, at)
	fields := uint16(len(b.columns))
	for k, i := range rows {
		if i >= 0 {
			binary.BigEndian.PutUint16(buf[pos[k]:], fields)
			pos[k] += 2
		}
	}
	for _, c := range b.columns {
		c.write(buf, rows, pos)
	}
	return buf, bad
}

// blockScratch is AppendCopyRows' reused per-block state.
type blockScratch struct {
	rows, sizes, pos []int
	errs             []*ValueError
}

// growTo returns buf extended to length n (its new bytes are overwritten).
func growTo(buf []byte, n int) []byte {
	if n <= cap(buf) {
		return buf[:n]
	}
	out := make([]byte, n, max(n, 2*cap(buf)))
	copy(out, buf)
	return out
}

func putNull(buf []byte, p int) int {
	binary.BigEndian.PutUint32(buf[p:], math.MaxUint32)
	return p + 4
}

// rowEncoder is the block form of any fieldEncoder: measure encodes each
// value into its own buffer, write copies the bytes into place.
type rowEncoder struct {
	e   fieldEncoder
	buf []byte
	end []int // end[k]: where row k's field ends in buf
}

func (r *rowEncoder) measure(rows []int, sizes []int, bad func(int, error)) int {
	r.buf, r.end = r.buf[:0], r.end[:0]
	for k, i := range rows {
		if i >= 0 {
			at := len(r.buf)
			var err error
			if r.buf, err = r.e.appendBinary(r.buf, i); err != nil {
				r.buf = r.buf[:at]
				bad(k, err)
			}
			sizes[k] += len(r.buf) - at
		}
		r.end = append(r.end, len(r.buf))
	}
	return 0
}

func (r *rowEncoder) write(buf []byte, rows []int, pos []int) {
	at := 0
	for k, i := range rows {
		if i >= 0 {
			pos[k] += copy(buf[pos[k]:], r.buf[at:r.end[k]])
		}
		at = r.end[k]
	}
}

func (c constEncoder) measure([]int, []int, func(int, error)) int { return len(c) }

func (c constEncoder) write(buf []byte, rows []int, pos []int) {
	for k, i := range rows {
		if i >= 0 {
			pos[k] += copy(buf[pos[k]:], c)
		}
	}
}

// measureNulls adds each row's size, 4 for a NULL and 4 + width otherwise,
// when the column has NULLs; without, every row's is fixed.
func measureNulls(rows []int, sizes []int, nulls bool, isNull func(int) bool, width int) int {
	if !nulls {
		return 4 + width
	}
	for k, i := range rows {
		if i >= 0 {
			sizes[k] += 4
			if !isNull(i) {
				sizes[k] += width
			}
		}
	}
	return 0
}

func (r *intReader[T]) measure(rows []int, sizes []int, bad func(int, error)) int {
	if r.check {
		for k, i := range rows {
			if i < 0 || (r.nulls && r.arr.IsNull(i)) {
				continue
			}
			if v := int64(r.vals[i]); v < r.lo || v > r.hi {
				bad(k, fmt.Errorf("value %d out of range [%d, %d]: widen the column or map another field", v, r.lo, r.hi))
			}
		}
	}
	return measureNulls(rows, sizes, r.nulls, r.arr.IsNull, r.width)
}

func (r *intReader[T]) write(buf []byte, rows []int, pos []int) {
	vals, w := r.vals, r.width
	if r.nulls {
		for k, i := range rows {
			if i < 0 {
				continue
			}
			if r.arr.IsNull(i) {
				pos[k] = putNull(buf, pos[k])
			} else {
				pos[k] = putInt(buf, pos[k], w, int64(vals[i]))
			}
		}
		return
	}
	switch w { // one loop per width: no branch per value
	case 2:
		for k, i := range rows {
			if i >= 0 {
				f := buf[pos[k]:][:6]
				binary.BigEndian.PutUint32(f, 2)
				binary.BigEndian.PutUint16(f[4:], uint16(vals[i]))
				pos[k] += 6
			}
		}
	case 4:
		for k, i := range rows {
			if i >= 0 {
				f := buf[pos[k]:][:8]
				binary.BigEndian.PutUint32(f, 4)
				binary.BigEndian.PutUint32(f[4:], uint32(vals[i]))
				pos[k] += 8
			}
		}
	default:
		for k, i := range rows {
			if i >= 0 {
				f := buf[pos[k]:][:12]
				binary.BigEndian.PutUint32(f, 8)
				binary.BigEndian.PutUint64(f[4:], uint64(int64(vals[i])))
				pos[k] += 12
			}
		}
	}
}

// putInt writes an integer field of width bytes at p and returns its end.
func putInt(buf []byte, p, width int, v int64) int {
	switch width {
	case 2:
		binary.BigEndian.PutUint32(buf[p:], 2)
		binary.BigEndian.PutUint16(buf[p+4:], uint16(v))
	case 4:
		binary.BigEndian.PutUint32(buf[p:], 4)
		binary.BigEndian.PutUint32(buf[p+4:], uint32(v))
	default:
		binary.BigEndian.PutUint32(buf[p:], 8)
		binary.BigEndian.PutUint64(buf[p+4:], uint64(v))
	}
	return p + 4 + width
}

func (r *uint64Reader) measure(rows []int, sizes []int, bad func(int, error)) int {
	nulls := r.a.NullN() > 0
	for k, i := range rows {
		if i < 0 || (nulls && r.a.IsNull(i)) {
			continue
		}
		if v := r.a.Value(i); v > math.MaxInt64 {
			bad(k, fmt.Errorf("value %d does not fit bigint: use a numeric column", v))
		}
	}
	return measureNulls(rows, sizes, nulls, r.a.IsNull, 8)
}

func (r *uint64Reader) write(buf []byte, rows []int, pos []int) {
	nulls, vals := r.a.NullN() > 0, r.a.Uint64Values()
	for k, i := range rows {
		if i >= 0 {
			pos[k] = putInt8(buf, pos[k], nulls && r.a.IsNull(i), vals[i])
		}
	}
}

// putInt8 writes an 8-byte field (a bigint, a float8's bits, a timestamptz)
// or a NULL at p and returns where it ends.
func putInt8(buf []byte, p int, null bool, v uint64) int {
	if null {
		return putNull(buf, p)
	}
	binary.BigEndian.PutUint32(buf[p:], 8)
	binary.BigEndian.PutUint64(buf[p+4:], v)
	return p + 12
}

func (r *floatReader) measure(rows []int, sizes []int, _ func(int, error)) int {
	return measureNulls(rows, sizes, r.arr.NullN() > 0, r.arr.IsNull, 8)
}

func (r *floatReader) write(buf []byte, rows []int, pos []int) {
	nulls := r.arr.NullN() > 0
	if a, ok := r.arr.(*array.Float64); ok {
		vals := a.Float64Values()
		for k, i := range rows {
			if i >= 0 {
				pos[k] = putInt8(buf, pos[k], nulls && a.IsNull(i), math.Float64bits(vals[i]))
			}
		}
		return
	}
	for k, i := range rows {
		if i >= 0 {
			null := nulls && r.arr.IsNull(i)
			var bits uint64
			if !null {
				bits = math.Float64bits(r.get(i))
			}
			pos[k] = putInt8(buf, pos[k], null, bits)
		}
	}
}

func (r *nsTimeReader) measure(rows []int, sizes []int, _ func(int, error)) int {
	return measureNulls(rows, sizes, r.arr.NullN() > 0, r.arr.IsNull, 8)
}

func (r *nsTimeReader) write(buf []byte, rows []int, pos []int) {
	nulls, vals := r.arr.NullN() > 0, r.vals
	for k, i := range rows {
		if i < 0 {
			continue
		}
		ns := vals[i]
		us := ns / 1000
		if ns%1000 < 0 {
			us--
		}
		pos[k] = putInt8(buf, pos[k], nulls && r.arr.IsNull(i), uint64(us-microsFromUnixToY2K))
	}
}

func (r *boolReader) measure(rows []int, sizes []int, _ func(int, error)) int {
	return measureNulls(rows, sizes, r.a.NullN() > 0, r.a.IsNull, 1)
}

func (r *boolReader) write(buf []byte, rows []int, pos []int) {
	nulls := r.a.NullN() > 0
	for k, i := range rows {
		if i < 0 {
			continue
		}
		p := pos[k]
		if nulls && r.a.IsNull(i) {
			pos[k] = putNull(buf, p)
			continue
		}
		binary.BigEndian.PutUint32(buf[p:], 1)
		buf[p+4] = 0
		if r.a.Value(i) {
			buf[p+4] = 1
		}
		pos[k] = p + 5
	}
}

func (r *stringReader) measure(rows []int, sizes []int, bad func(int, error)) int {
	nulls := r.a.NullN() > 0
	for k, i := range rows {
		if i < 0 {
			continue
		}
		if nulls && r.a.IsNull(i) {
			sizes[k] += 4
			continue
		}
		s := r.a.Value(i)
		if r.check && (!r.ascii || (r.text.maxChars > 0 && len(s) > r.text.maxChars)) {
			if err := r.text.check(s); err != nil {
				bad(k, err)
				continue
			}
		}
		sizes[k] += 4 + len(s)
	}
	return 0
}

func (r *stringReader) write(buf []byte, rows []int, pos []int) {
	nulls := r.a.NullN() > 0
	for k, i := range rows {
		if i < 0 {
			continue
		}
		p := pos[k]
		if nulls && r.a.IsNull(i) {
			pos[k] = putNull(buf, p)
			continue
		}
		s := r.a.Value(i)
		binary.BigEndian.PutUint32(buf[p:], uint32(len(s)))
		pos[k] = p + 4 + copy(buf[p+4:], s)
	}
}

func (r *charReader) measure(rows []int, sizes []int, bad func(int, error)) int {
	for k, i := range rows {
		if i < 0 {
			continue
		}
		c := r.a.Value(i)
		if r.a.IsNull(i) || c == 0 {
			sizes[k] += 4
			continue
		}
		if r.check && c >= utf8.RuneSelf {
			bad(k, fmt.Errorf("the character 0x%02x alone is not valid UTF-8", c))
			continue
		}
		sizes[k] += 5
	}
	return 0
}

func (r *charReader) write(buf []byte, rows []int, pos []int) {
	vals := r.a.Uint8Values()
	nulls := r.a.NullN() > 0
	for k, i := range rows {
		if i < 0 {
			continue
		}
		p := pos[k]
		c := vals[i]
		if c == 0 || (nulls && r.a.IsNull(i)) {
			pos[k] = putNull(buf, p)
			continue
		}
		binary.BigEndian.PutUint32(buf[p:], 1)
		buf[p+4] = c
		pos[k] = p + 5
	}
}
