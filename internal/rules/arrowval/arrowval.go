// Package arrowval reads single cells of Arrow arrays as plain Go values and
// as JSON, exactly: integers stay integers (never float64), nulls are nil.
// It is shared by the rules and mapping packages for their slow paths
// (expressions, quarantine records); the fast paths read typed arrays.
package arrowval

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hdi-dev/hdi/internal/jsonstr"
)

// KindKey is the Arrow field metadata key providers use to say what a field
// holds: price (int64, 1e-9 units), ts (int64 ns since the epoch), char (one
// ASCII character in a uint8), int, flags or cstr.
const KindKey = "hdi.kind"

// Kind returns a field's hdi.kind metadata ("" when absent).
func Kind(f arrow.Field) string {
	if i := f.Metadata.FindKey(KindKey); i >= 0 {
		return f.Metadata.Values()[i]
	}
	return ""
}

// IsChar reports whether a field carries one ASCII character: a uint8 field
// the provider marked hdi.kind=char (byte 0 reads as null).
func IsChar(f arrow.Field) bool {
	return f.Type.ID() == arrow.UINT8 && Kind(f) == "char"
}

// ScaleKey is the Arrow field metadata key of an int64 decimal's scale: the
// field holds units of 10^-scale (hdi.scale=9: a value of 1.5 is 1500000000).
const ScaleKey = "hdi.scale"

// Scale returns an int64 decimal field's scale, from its hdi.scale metadata.
func Scale(f arrow.Field) (int32, bool) {
	i := f.Metadata.FindKey(ScaleKey)
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(f.Metadata.Values()[i])
	if err != nil || n < 0 || n > 18 {
		return 0, false
	}
	return int32(n), true
}

// charStrings holds the one-byte strings, so reading a char never allocates.
var charStrings = func() (t [256]string) {
	for i := range t {
		t[i] = string([]byte{byte(i)})
	}
	return t
}()

// CharString returns the one-character string of b without allocating.
func CharString(b byte) string { return charStrings[b] }

// Value returns cell i of arr as int64, uint64, float64, string, bool or
// []byte (nil when null). Unsigned types narrower than 64 bits read as
// int64. When char is true a uint8 reads as a one-character string (0: nil).
func Value(arr arrow.Array, i int, char bool) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint8:
		if char {
			if a.Value(i) == 0 {
				return nil
			}
			return CharString(a.Value(i))
		}
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Binary:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	default:
		return arr.ValueStr(i)
	}
}

// AppendJSON appends cell i of arr as a JSON value: integers as exact JSON
// numbers, non-finite floats and nulls as null, binary as base64 strings.
func AppendJSON(dst []byte, arr arrow.Array, i int, char bool) []byte {
	switch v := Value(arr, i, char).(type) {
	case nil:
		return append(dst, "null"...)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case uint64:
		return strconv.AppendUint(dst, v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(dst, v)
	case string:
		return jsonstr.Append(dst, v)
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, '"')
	default:
		b, _ := json.Marshal(v)
		return append(dst, b...)
	}
}
