package mapping

import (
	"fmt"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hdi-dev/hdi/internal/rules/arrowval"
)

// reader yields one column's values, row by row, for pgx to encode. The
// value returned may point into the reader and is valid until the next call:
// pgx's COPY encodes each row before asking for the next, so readers reuse
// one slot per column and the common conversions never allocate.
type reader interface {
	value(i int) (any, error)
}

// ints are the Arrow integer element types read by intReader.
type ints interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

type intReader[T ints] struct {
	arr    arrow.Array
	vals   []T
	nulls  bool
	check  bool // range check against lo..hi (narrowing into int2/int4)
	lo, hi int64
	slot   int64
	width  int // binary COPY width, set by prepareBinary
}

func (r *intReader[T]) value(i int) (any, error) {
	if r.nulls && r.arr.IsNull(i) {
		return nil, nil
	}
	r.slot = int64(r.vals[i])
	if r.check && (r.slot < r.lo || r.slot > r.hi) {
		return nil, fmt.Errorf("value %d out of range [%d, %d]: widen the column or map another field", r.slot, r.lo, r.hi)
	}
	return &r.slot, nil
}

func newIntReader[T ints](arr arrow.Array, vals []T, k kind) reader {
	r := &intReader[T]{arr: arr, vals: vals, nulls: arr.NullN() > 0}
	if k.isInt() {
		r.lo, r.hi = k.intRange()
		var zero T
		r.check = intBits(zero) >= kindBits(k)
	}
	return r
}

// intBits is the width of an integer type, plus one for unsigned types (so a
// uint32 needs an int8 column to fit without checks).
func intBits(v any) int {
	switch v.(type) {
	case int8:
		return 8
	case uint8:
		return 9
	case int16:
		return 16
	case uint16:
		return 17
	case int32:
		return 32
	case uint32:
		return 33
	}
	return 64
}

func kindBits(k kind) int {
	switch k {
	case kInt2:
		return 16
	case kInt4:
		return 32
	}
	return 65
}

// bindInt builds an intReader for any Arrow integer array but uint64.
func bindInt(arr arrow.Array, k kind) (reader, bool) {
	switch a := arr.(type) {
	case *array.Int64:
		return newIntReader(arr, a.Int64Values(), k), true
	case *array.Int32:
		return newIntReader(arr, a.Int32Values(), k), true
	case *array.Int16:
		return newIntReader(arr, a.Int16Values(), k), true
	case *array.Int8:
		return newIntReader(arr, a.Int8Values(), k), true
	case *array.Uint32:
		return newIntReader(arr, a.Uint32Values(), k), true
	case *array.Uint16:
		return newIntReader(arr, a.Uint16Values(), k), true
	case *array.Uint8:
		return newIntReader(arr, a.Uint8Values(), k), true
	case *array.Timestamp:
		return newIntReader(arr, a.TimestampValues(), k), true
	}
	return nil, false
}

type uint64Reader struct {
	a    *array.Uint64
	slot int64
}

func (r *uint64Reader) value(i int) (any, error) {
	if r.a.IsNull(i) {
		return nil, nil
	}
	v := r.a.Value(i)
	if v > 1<<63-1 {
		return nil, fmt.Errorf("value %d does not fit bigint: use a numeric column", v)
	}
	r.slot = int64(v)
	return &r.slot, nil
}

type floatReader struct {
	arr  arrow.Array
	get  func(int) float64
	slot float64
}

func (r *floatReader) value(i int) (any, error) {
	if r.arr.IsNull(i) {
		return nil, nil
	}
	r.slot = r.get(i)
	return &r.slot, nil
}

type stringArray interface {
	arrow.Array
	Value(int) string
	ValueBytes() []byte
}

type stringReader struct {
	a    stringArray
	slot string
	// binary COPY into a text column (see checkText): check each value,
	// or, when the batch's text is all ASCII without NUL, only lengths.
	check, ascii bool
	text         textLimit
}

func (r *stringReader) value(i int) (any, error) {
	if r.a.IsNull(i) {
		return nil, nil
	}
	r.slot = r.a.Value(i)
	return &r.slot, nil
}

// charReader reads a uint8 as a one-character string; 0 is null.
type charReader struct {
	a    *array.Uint8
	slot string
	// check: binary COPY into a text column, where a byte of 0x80 or more
	// (not UTF-8 alone) is refused.
	check bool
}

func (r *charReader) value(i int) (any, error) {
	if r.a.IsNull(i) || r.a.Value(i) == 0 {
		return nil, nil
	}
	r.slot = arrowval.CharString(r.a.Value(i))
	return &r.slot, nil
}

type boolReader struct {
	a    *array.Boolean
	slot bool
}

func (r *boolReader) value(i int) (any, error) {
	if r.a.IsNull(i) {
		return nil, nil
	}
	r.slot = r.a.Value(i)
	return &r.slot, nil
}

// nsTimeReader turns nanoseconds since the epoch into a timestamptz
// (PostgreSQL keeps microseconds: the sub-microsecond part is truncated).
type nsTimeReader struct {
	arr  arrow.Array
	vals []int64
	slot time.Time
}

func (r *nsTimeReader) value(i int) (any, error) {
	if r.arr.IsNull(i) {
		return nil, nil
	}
	r.slot = time.Unix(0, r.vals[i]).UTC()
	return &r.slot, nil
}

// decimalReader turns int64 fixed-point (units of 10^-scale) into an exact
// numeric.
type decimalReader struct {
	arr   arrow.Array
	vals  []int64
	scale int32
	n     big.Int
	slot  pgtype.Numeric
}

func (r *decimalReader) value(i int) (any, error) {
	if r.arr.IsNull(i) {
		return nil, nil
	}
	r.n.SetInt64(r.vals[i])
	r.slot = pgtype.Numeric{Int: &r.n, Exp: -r.scale, Valid: true}
	return &r.slot, nil
}

// decimal128Reader turns an Arrow decimal128 into an exact numeric.
type decimal128Reader struct {
	a     *array.Decimal128
	scale int32
	slot  pgtype.Numeric
}

func (r *decimal128Reader) value(i int) (any, error) {
	if r.a.IsNull(i) {
		return nil, nil
	}
	r.slot = pgtype.Numeric{Int: r.a.Value(i).BigInt(), Exp: -r.scale, Valid: true}
	return &r.slot, nil
}

type constReader struct{ v any }

func (r constReader) value(int) (any, error) { return r.v, nil }

// funcReader is the slow, general path.
type funcReader func(i int) (any, error)

func (f funcReader) value(i int) (any, error) { return f(i) }

// int64Values returns the values of an int64-like array (int64 or timestamp).
func int64Values(arr arrow.Array) ([]int64, bool) {
	switch a := arr.(type) {
	case *array.Int64:
		return a.Int64Values(), true
	case *array.Timestamp:
		vals := a.TimestampValues()
		// arrow.Timestamp is an int64; reinterpret without copying.
		return arrowval.TimestampsAsInt64(vals), true
	}
	return nil, false
}
