package mapping

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// kind is the family of a target column's type.
type kind int

const (
	kOther kind = iota
	kInt2
	kInt4
	kInt8
	kNumeric
	kFloat
	kText
	kBool
	kTimestamptz
	kTimestamp
	kDate
	kJSON
	kBytea
)

func kindOf(oid uint32) kind {
	switch oid {
	case pgtype.Int2OID:
		return kInt2
	case pgtype.Int4OID:
		return kInt4
	case pgtype.Int8OID:
		return kInt8
	case pgtype.NumericOID:
		return kNumeric
	case pgtype.Float4OID, pgtype.Float8OID:
		return kFloat
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return kText
	case pgtype.BoolOID:
		return kBool
	case pgtype.TimestamptzOID:
		return kTimestamptz
	case pgtype.TimestampOID:
		return kTimestamp
	case pgtype.DateOID:
		return kDate
	case pgtype.JSONOID, pgtype.JSONBOID:
		return kJSON
	case pgtype.ByteaOID:
		return kBytea
	}
	return kOther
}

func (k kind) isInt() bool { return k == kInt2 || k == kInt4 || k == kInt8 }

// intRange is the range of an integer column kind.
func (k kind) intRange() (lo, hi int64) {
	switch k {
	case kInt2:
		return math.MinInt16, math.MaxInt16
	case kInt4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// castKind maps a `cast:` name to a kind.
func castKind(name string) (kind, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "bigint", "int8":
		return kInt8, true
	case "integer", "int", "int4":
		return kInt4, true
	case "smallint", "int2":
		return kInt2, true
	case "numeric", "decimal":
		return kNumeric, true
	case "double precision", "float8", "real", "float4":
		return kFloat, true
	case "text", "varchar":
		return kText, true
	case "boolean", "bool":
		return kBool, true
	case "timestamptz", "timestamp with time zone":
		return kTimestamptz, true
	}
	return kOther, false
}

// convert turns a generic value (int64, uint64, float64, string, bool,
// time.Time, pgtype.Numeric, nil) into a value pgx encodes for a column of
// kind k. It is the slow path (casts, constants, expressions, transforms).
func convert(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kInt2, kInt4, kInt8:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case int:
			n = int64(x)
		case uint64:
			if x > math.MaxInt64 {
				return nil, fmt.Errorf("%d out of range", x)
			}
			n = int64(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("%v is not an exact integer", x)
			}
			n = int64(x)
		case string:
			var err error
			if n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
				return nil, fmt.Errorf("%q is not an integer", x)
			}
		case bool:
			if x {
				n = 1
			}
		default:
			return nil, fmt.Errorf("cannot convert %T to an integer", v)
		}
		if lo, hi := k.intRange(); n < lo || n > hi {
			return nil, fmt.Errorf("%d out of range [%d, %d]", n, lo, hi)
		}
		return n, nil
	case kNumeric:
		switch x := v.(type) {
		case pgtype.Numeric:
			return x, nil
		case int64:
			return pgtype.Numeric{Int: big.NewInt(x), Valid: true}, nil
		case int:
			return pgtype.Numeric{Int: big.NewInt(int64(x)), Valid: true}, nil
		case uint64:
			return pgtype.Numeric{Int: new(big.Int).SetUint64(x), Valid: true}, nil
		case float64:
			var num pgtype.Numeric
			err := num.Scan(strconv.FormatFloat(x, 'f', -1, 64))
			return num, err
		case string:
			var num pgtype.Numeric
			if err := num.Scan(strings.TrimSpace(x)); err != nil {
				return nil, fmt.Errorf("%q is not a decimal", x)
			}
			return num, nil
		}
	case kFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		case pgtype.Numeric:
			f, err := x.Float64Value()
			return f.Float64, err
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", x)
			}
			return f, nil
		}
	case kText:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case int:
			return strconv.Itoa(x), nil
		case uint64:
			return strconv.FormatUint(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		case pgtype.Numeric:
			b, err := x.MarshalJSON()
			return string(b), err
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("%q is not a boolean", x)
			}
			return b, nil
		}
	case kTimestamptz, kTimestamp, kDate:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case int64:
			return time.Unix(0, x).UTC(), nil
		case string:
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", time.DateOnly} {
				if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
					return t, nil
				}
			}
			return nil, fmt.Errorf("%q is not an RFC 3339 time or a date", x)
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("cannot convert %T to this column type", v)
}
