package mapping

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// PostgreSQL's binary COPY format, written straight from the Arrow columns.
//
// pgx's CopyFrom asks a CopyFromSource for one []any per row and encodes
// each value through pgtype.Map.Encode, which looks up an encode plan in a
// map and dereferences pointers through reflect, value by value: profiling
// `hdi ingest` showed that path was most of the host's CPU. Readers that
// know their target type append the wire bytes themselves (no interface
// boxing, no plan lookup, no allocation); the others (numeric, casts,
// expressions, ...) still go through pgtype, one column at a time, so every
// column type pgx supports keeps working with exactly pgx's encoding.

// binaryReader is a reader that can append its values in COPY binary form.
type binaryReader interface {
	reader
	// prepareBinary reports whether the reader can encode for a column of
	// type oid, and sets itself up for it.
	prepareBinary(oid uint32) bool
	// appendBinary appends value i as a COPY field: its int32 length (-1
	// for NULL), then its bytes.
	appendBinary(buf []byte, i int) ([]byte, error)
}

// nullFree is a reader that can tell its batch holds no NULL.
type nullFree interface{ noNulls() bool }

// textChecker is a reader that checks, as it encodes, the text a text
// column can hold (limits.go).
type textChecker interface{ checkText(textLimit) }

// fieldEncoder appends one column's value of row i.
type fieldEncoder interface {
	appendBinary(buf []byte, i int) ([]byte, error)
}

// genericEncoder encodes a reader's values with pgtype, as pgx's CopyFrom
// does.
type genericEncoder struct {
	r   reader
	oid uint32
	m   *pgtype.Map
	num *numericLimit // numeric(p,s): the bound the value must keep; nil: none
}

func (g genericEncoder) appendBinary(buf []byte, i int) ([]byte, error) {
	v, err := g.r.value(i)
	if err != nil {
		return buf, err
	}
	if g.num != nil {
		if err := g.num.check(v); err != nil {
			return buf, err
		}
	}
	return appendEncoded(g.m, buf, g.oid, v)
}

// appendEncoded is pgx's encodeCopyValue.
func appendEncoded(m *pgtype.Map, buf []byte, oid uint32, v any) ([]byte, error) {
	sp := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
	out, err := m.Encode(oid, pgtype.BinaryFormatCode, v, buf)
	if err != nil {
		return buf[:sp], err
	}
	if out == nil {
		return buf, nil
	}
	binary.BigEndian.PutUint32(out[sp:], uint32(len(out)-sp-4))
	return out, nil
}

// constEncoder appends a constant's bytes, encoded once.
type constEncoder []byte

func (c constEncoder) appendBinary(buf []byte, _ int) ([]byte, error) { return append(buf, c...), nil }

func appendNull(buf []byte) []byte { return binary.BigEndian.AppendUint32(buf, math.MaxUint32) }

func appendLen(buf []byte, n int) []byte { return binary.BigEndian.AppendUint32(buf, uint32(n)) }

func intWidth(oid uint32) int {
	switch oid {
	case pgtype.Int2OID:
		return 2
	case pgtype.Int4OID:
		return 4
	case pgtype.Int8OID:
		return 8
	}
	return 0
}

func appendInt(buf []byte, width int, v int64) []byte {
	switch width {
	case 2:
		return binary.BigEndian.AppendUint16(appendLen(buf, 2), uint16(v))
	case 4:
		return binary.BigEndian.AppendUint32(appendLen(buf, 4), uint32(v))
	}
	return binary.BigEndian.AppendUint64(appendLen(buf, 8), uint64(v))
}

func isTextOID(oid uint32) bool {
	return oid == pgtype.TextOID || oid == pgtype.VarcharOID || oid == pgtype.BPCharOID
}

func (r *intReader[T]) prepareBinary(oid uint32) bool {
	r.width = intWidth(oid)
	return r.width > 0
}

func (r *intReader[T]) appendBinary(buf []byte, i int) ([]byte, error) {
	if r.nulls && r.arr.IsNull(i) {
		return appendNull(buf), nil
	}
	v := int64(r.vals[i])
	if r.check && (v < r.lo || v > r.hi) {
		return buf, fmt.Errorf("value %d out of range [%d, %d]: widen the column or map another field", v, r.lo, r.hi)
	}
	return appendInt(buf, r.width, v), nil
}

func (r *intReader[T]) noNulls() bool { return !r.nulls }

func (r *uint64Reader) noNulls() bool { return r.a.NullN() == 0 }

func (r *floatReader) noNulls() bool { return r.arr.NullN() == 0 }

func (r *boolReader) noNulls() bool { return r.a.NullN() == 0 }

func (r *nsTimeReader) noNulls() bool { return r.arr.NullN() == 0 }

func (r *decimalReader) noNulls() bool { return r.arr.NullN() == 0 }

func (r *decimal128Reader) noNulls() bool { return r.a.NullN() == 0 }

func (r *uint64Reader) prepareBinary(oid uint32) bool { return oid == pgtype.Int8OID }

func (r *uint64Reader) appendBinary(buf []byte, i int) ([]byte, error) {
	if r.a.IsNull(i) {
		return appendNull(buf), nil
	}
	v := r.a.Value(i)
	if v > math.MaxInt64 {
		return buf, fmt.Errorf("value %d does not fit bigint: use a numeric column", v)
	}
	return appendInt(buf, 8, int64(v)), nil
}

func (r *floatReader) prepareBinary(oid uint32) bool { return oid == pgtype.Float8OID }

func (r *floatReader) appendBinary(buf []byte, i int) ([]byte, error) {
	if r.arr.IsNull(i) {
		return appendNull(buf), nil
	}
	return binary.BigEndian.AppendUint64(appendLen(buf, 8), math.Float64bits(r.get(i))), nil
}

func (r *stringReader) prepareBinary(oid uint32) bool { return isTextOID(oid) }

func (r *stringReader) appendBinary(buf []byte, i int) ([]byte, error) {
	if r.a.IsNull(i) {
		return appendNull(buf), nil
	}
	s := r.a.Value(i)
	if r.check && (!r.ascii || (r.text.maxChars > 0 && len(s) > r.text.maxChars)) {
		if err := r.text.check(s); err != nil {
			return buf, err
		}
	}
	return append(appendLen(buf, len(s)), s...), nil
}

func (r *stringReader) checkText(l textLimit) {
	r.check, r.text, r.ascii = true, l, asciiNoNUL(r.a.ValueBytes())
}

func (r *stringReader) noNulls() bool { return r.a.NullN() == 0 }

func (r *charReader) prepareBinary(oid uint32) bool { return isTextOID(oid) }

func (r *charReader) appendBinary(buf []byte, i int) ([]byte, error) {
	c := r.a.Value(i)
	if r.a.IsNull(i) || c == 0 {
		return appendNull(buf), nil
	}
	if r.check && c >= utf8.RuneSelf {
		return buf, fmt.Errorf("the character 0x%02x alone is not valid UTF-8", c)
	}
	return append(appendLen(buf, 1), c), nil
}

// checkText: one byte holds no NUL (that is NULL) and fits any length.
func (r *charReader) checkText(textLimit) { r.check = true }

func (r *charReader) noNulls() bool {
	return r.a.NullN() == 0 && bytes.IndexByte(r.a.Uint8Values(), 0) < 0
}

func (r *boolReader) prepareBinary(oid uint32) bool { return oid == pgtype.BoolOID }

func (r *boolReader) appendBinary(buf []byte, i int) ([]byte, error) {
	if r.a.IsNull(i) {
		return appendNull(buf), nil
	}
	b := byte(0)
	if r.a.Value(i) {
		b = 1
	}
	return append(appendLen(buf, 1), b), nil
}

// microsFromUnixToY2K is PostgreSQL's epoch (2000-01-01) in Unix microseconds.
const microsFromUnixToY2K = 946_684_800 * 1_000_000

func (r *nsTimeReader) prepareBinary(oid uint32) bool { return oid == pgtype.TimestamptzOID }

// appendBinary truncates to microseconds toward the past, as pgx does for a
// time.Time (Unix()*1e6 + Nanosecond()/1000).
func (r *nsTimeReader) appendBinary(buf []byte, i int) ([]byte, error) {
	if r.arr.IsNull(i) {
		return appendNull(buf), nil
	}
	ns := r.vals[i]
	us := ns / 1000
	if ns%1000 < 0 {
		us--
	}
	return binary.BigEndian.AppendUint64(appendLen(buf, 8), uint64(us-microsFromUnixToY2K)), nil
}

// CopyBinary reports whether the plan's batches can be written with
// AppendCopyRow (every target type is known to pgx).
func (p *Plan) CopyBinary() bool { return p.typeMap != nil }

// prepareBinary decides CopyBinary and encodes the constants once.
func (p *Plan) prepareBinary() {
	m := pgtype.NewMap()
	consts := make([]constEncoder, len(p.cols))
	for j, c := range p.cols {
		if _, ok := m.TypeForOID(c.oid); !ok {
			return
		}
		if c.isConst {
			b, err := appendEncoded(m, nil, c.oid, c.constVal)
			if err != nil {
				return
			}
			consts[j] = b
		}
	}
	p.typeMap, p.constEnc = m, consts
}

// bindBinary builds the batch's field encoders, with the checks of what
// each column can hold (limits.go); constants were checked by NewPlan.
// Readers check text themselves when they can (textChecker), and a NOT
// NULL column is checked only when its reader may give a NULL in this
// batch (nullFree): the common case costs nothing.
func (b *Batch) bindBinary() {
	p := b.Plan
	b.encoders = make([]fieldEncoder, len(b.readers))
	for j, r := range b.readers {
		c := &p.cols[j]
		if c.isConst {
			b.encoders[j] = p.constEnc[j]
			continue
		}
		var enc fieldEncoder
		if br, ok := r.(binaryReader); ok && br.prepareBinary(c.oid) {
			enc = br
		} else {
			enc = genericEncoder{r: r, oid: c.oid, m: p.typeMap, num: c.numericLimit()}
		}
		tl, text := c.textLimit()
		if tc, ok := enc.(textChecker); ok && text {
			tc.checkText(tl)
			text = false
		}
		notNull := c.col.NotNull
		if nf, ok := r.(nullFree); ok && nf.noNulls() {
			notNull = false
		}
		if text || notNull {
			ce := &checkedEncoder{fieldEncoder: enc, notNull: notNull}
			if text {
				ce.text = &tl
			}
			enc = ce
		}
		b.encoders[j] = enc
	}
}

// AppendCopyRow appends row i in PostgreSQL's binary COPY format (the field
// count, then each field's length and bytes) to buf. The plan must be
// CopyBinary. A value its column cannot hold is a *ValueError, and buf is
// returned as it was: leave the row out and go on. On any other error buf
// may hold part of the row. The loader uses AppendCopyRows, its block form,
// which writes the same bytes.
func (b *Batch) AppendCopyRow(buf []byte, i int) ([]byte, error) {
	if b.encoders == nil {
		if !b.Plan.CopyBinary() {
			return buf, fmt.Errorf("mapping: plan for %s.%s cannot encode binary COPY rows", b.Plan.Table.Schema, b.Plan.Table.Table)
		}
		b.bindBinary()
	}
	start := len(buf)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(b.encoders)))
	for j, e := range b.encoders {
		var err error
		if buf, err = e.appendBinary(buf, i); err != nil {
			return buf[:start], b.Plan.valueError(i, j, err)
		}
	}
	return buf, nil
}
