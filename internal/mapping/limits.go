package mapping

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/jackc/pgx/v5/pgtype"
)

// What a column can hold.
//
// A value the target column cannot hold fails the whole COPY on the server,
// and with it the batch. So before a row goes into the COPY stream, its
// values are checked against the column's real type (ColumnInfo, from the
// catalog): numeric(p,s) precision after rounding to the scale, varchar(n)
// and char(n) length in characters (excess spaces are cut, as PostgreSQL
// does), integer range (the readers), text that PostgreSQL cannot store (a
// NUL byte, invalid UTF-8), and NULL into a NOT NULL column. A row that
// fails is left out of the COPY and reported as a *ValueError, for the
// loader to quarantine; the others load. The server stays the last word
// (CHECK constraints, domains, anything not foreseen here): see
// load.WriteBatch.

// ValueError is a row with a value its target column cannot hold.
type ValueError struct {
	Row    int    // the row in the batch
	Column string // the target column
	Type   string // its type, e.g. numeric(12,4)
	Field  string // the source field it comes from; "" for a constant or an expression
	Err    error  // what is wrong with the value
}

func (e *ValueError) Error() string { return fmt.Sprintf("row %d: %s", e.Row, e.Reason()) }

// Reason says what is wrong, without the row number: the column, its type
// and the problem.
func (e *ValueError) Reason() string {
	return fmt.Sprintf("column %q (%s): %v", e.Column, e.Type, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// errNotNull is a NULL for a NOT NULL column.
var errNotNull = errors.New("no value (NULL), but the column is NOT NULL")

// NumericLimits returns a numeric(p,s) column's precision and scale; ok is
// false for an unconstrained numeric (or any other type).
func (c ColumnInfo) NumericLimits() (precision, scale int, ok bool) {
	if c.TypeOID != pgtype.NumericOID || c.TypeMod < 4 {
		return 0, 0, false
	}
	m := c.TypeMod - 4 // VARHDRSZ
	// PostgreSQL 15+ keeps a scale of -1000..1000 in the low 11 bits.
	return int(m>>16) & 0xffff, int(((m & 0x7ff) ^ 1024) - 1024), true
}

// MaxChars returns the length of a varchar(n) or char(n) column, 0 when it
// has none.
func (c ColumnInfo) MaxChars() int {
	if (c.TypeOID != pgtype.VarcharOID && c.TypeOID != pgtype.BPCharOID) || c.TypeMod < 4 {
		return 0
	}
	return int(c.TypeMod - 4)
}

// textLimit checks text bound for a text, varchar(n) or char(n) column.
type textLimit struct{ maxChars int }

// check reports why PostgreSQL would refuse the text s for the column.
func (l textLimit) check(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("the text holds a NUL byte (0x00), which PostgreSQL text cannot store")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("the text %q is not valid UTF-8", s)
	}
	if l.maxChars > 0 && len(s) > l.maxChars {
		if n := utf8.RuneCountInString(s); n > l.maxChars {
			cut := 0
			for range l.maxChars {
				_, size := utf8.DecodeRuneInString(s[cut:])
				cut += size
			}
			if strings.TrimLeft(s[cut:], " ") != "" { // excess spaces are cut, as PostgreSQL does
				return fmt.Errorf("%q has %d characters, more than %d", s, n, l.maxChars)
			}
		}
	}
	return nil
}

// checkField checks an encoded binary COPY field of a text column.
func (l textLimit) checkField(f []byte) error {
	if len(f) < 4 || binary.BigEndian.Uint32(f) == 0xFFFFFFFF {
		return nil // NULL
	}
	return l.check(unsafe.String(unsafe.SliceData(f[4:]), len(f)-4))
}

// asciiNoNUL reports whether b is all ASCII without a NUL byte: text that
// holds no character PostgreSQL refuses and one character per byte.
func asciiNoNUL(b []byte) bool {
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// a byte of 0x80 or more, or a zero byte (the classic has-zero test)
		if w&0x8080808080808080 != 0 || (w-0x0101010101010101)&^w&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c == 0 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// numericLimit is a numeric(p,s) column's bound: a value must round (half
// away from zero) to s places with an absolute value below 10^(p-s).
type numericLimit struct {
	precision, scale int
	// below[e] is the smallest |unscaled| that overflows for a value with
	// e decimal places (Numeric.Exp = -e), computed on first use.
	below map[int32]*big.Int
}

func newNumericLimit(precision, scale int) *numericLimit {
	return &numericLimit{precision: precision, scale: scale, below: map[int32]*big.Int{}}
}

var bigTen = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil) }

// threshold is the smallest |unscaled| that overflows for e decimal places.
func (l *numericLimit) threshold(e int32) *big.Int {
	if t, ok := l.below[e]; ok {
		return t
	}
	var t *big.Int
	if d := int(e) - l.scale; d > 0 {
		// rounded away: |n| / 10^d rounds to >= 10^p from 10^(p+d) - 5*10^(d-1) on
		t = pow10(l.precision + d)
		t.Sub(t, new(big.Int).Mul(big.NewInt(5), pow10(d-1)))
	} else if k := l.precision - l.scale + int(e); k > 0 {
		t = pow10(k)
	} else {
		t = big.NewInt(1) // only zero fits
	}
	l.below[e] = t
	return t
}

// check reports a value (as the readers give it) that does not fit.
func (l *numericLimit) check(v any) error {
	var n pgtype.Numeric
	switch x := v.(type) {
	case *pgtype.Numeric:
		n = *x
	case pgtype.Numeric:
		n = x
	case *int64:
		n = pgtype.Numeric{Int: big.NewInt(*x), Valid: true}
	case int64:
		n = pgtype.Numeric{Int: big.NewInt(x), Valid: true}
	default:
		return nil // the server decides
	}
	if !n.Valid || n.NaN {
		return nil
	}
	if n.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("infinity does not fit numeric(%d,%d)", l.precision, l.scale)
	}
	if n.Int == nil || n.Int.Sign() == 0 {
		return nil
	}
	if n.Int.CmpAbs(l.threshold(-n.Exp)) < 0 {
		return nil
	}
	if d := l.precision - l.scale; d > 0 {
		return fmt.Errorf("%s does not fit: at most %d digits before the decimal point", numericText(n), d)
	}
	return fmt.Errorf("%s does not fit: it must round to an absolute value below 10^%d", numericText(n), l.precision-l.scale)
}

// numericText writes an exact numeric as decimal text.
func numericText(n pgtype.Numeric) string {
	b, err := n.MarshalJSON()
	if err != nil {
		return n.Int.String() + "e" + fmt.Sprint(n.Exp)
	}
	return string(b)
}

// checkNotNull reports a NULL in an encoded binary COPY field.
func checkNotNull(f []byte) error {
	if len(f) >= 4 && binary.BigEndian.Uint32(f) == 0xFFFFFFFF {
		return errNotNull
	}
	return nil
}

// textLimit returns the checks of a text-like column (ok false: none).
func (c *colPlan) textLimit() (textLimit, bool) {
	if !isTextOID(c.oid) {
		return textLimit{}, false
	}
	return textLimit{maxChars: c.col.MaxChars()}, true
}

// numericLimit returns a numeric(p,s) column's bound (nil: none). Each
// batch gets its own (it caches thresholds).
func (c *colPlan) numericLimit() *numericLimit {
	if p, s, ok := c.col.NumericLimits(); ok {
		return newNumericLimit(p, s)
	}
	return nil
}

// checkConst checks a constant against its column once, at plan time: a
// constant that does not fit would refuse every row.
func (c *colPlan) checkConst() error {
	if !c.isConst {
		return nil
	}
	err := c.checkValue(c.constVal, c.numericLimit())
	if err != nil {
		return fmt.Errorf("mapping: column %q (%s): constant %v: %v", c.name, c.col.Type, c.constVal, err)
	}
	return nil
}

// checkValue checks a value as the readers give it (nil, pointers to
// their slots, or plain values) against the column: the checks of the
// binary encoders, for pgx's COPY path.
func (c *colPlan) checkValue(v any, num *numericLimit) error {
	if v == nil {
		if c.col.NotNull {
			return errNotNull
		}
		return nil
	}
	if num != nil {
		return num.check(v)
	}
	if tl, ok := c.textLimit(); ok {
		switch s := v.(type) {
		case *string:
			return tl.check(*s)
		case string:
			return tl.check(s)
		}
	}
	return nil
}

// valueError wraps a problem with row i's value of column j.
func (p *Plan) valueError(i, j int, err error) *ValueError {
	c := &p.cols[j]
	return &ValueError{Row: i, Column: c.name, Type: c.col.Type, Field: c.field, Err: err}
}

// checkedEncoder checks what an encoder appended: the text a text-like
// column can hold, and no NULL in a NOT NULL column.
type checkedEncoder struct {
	fieldEncoder
	text    *textLimit
	notNull bool
}

func (e *checkedEncoder) appendBinary(buf []byte, i int) ([]byte, error) {
	at := len(buf)
	buf, err := e.fieldEncoder.appendBinary(buf, i)
	if err != nil {
		return buf, err
	}
	if e.notNull {
		if err := checkNotNull(buf[at:]); err != nil {
			return buf, err
		}
	}
	if e.text != nil {
		return buf, e.text.checkField(buf[at:])
	}
	return buf, nil
}
