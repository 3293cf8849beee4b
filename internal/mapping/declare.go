package mapping

import (
	"regexp"
	"strconv"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// numericScaleRe reads the scale of a numeric(p,s) column type.
var numericScaleRe = regexp.MustCompile(`^numeric\(\d+,(\d+)\)$`)

// defaultNumericScale is the scale of an unconstrained numeric column read
// from text: 18 places after the point, 20 before (decimal128 holds 38).
const defaultNumericScale = 18

// DeclareColumns declares the table's writable columns for a provider whose
// stream schema the job gives (csv with no source.columns): each with the
// type that reads into the column exactly. Integers are int64, numeric is an
// exact decimal with the column's scale, text is string, timestamps and
// dates are timestamps; an empty field is NULL unless the column is NOT
// NULL without a default. Types with no closer match are strings, which
// PostgreSQL then parses.
func DeclareColumns(t TableInfo) []sdk.Column {
	var out []sdk.Column
	for _, c := range t.Columns {
		if c.Generated {
			continue
		}
		d := sdk.Column{Name: c.Name, Nullable: !c.NotNull || c.HasDefault}
		switch kindOf(c.TypeOID) {
		case kInt2, kInt4, kInt8:
			d.Type = sdk.ColumnInt64
		case kNumeric:
			d.Type, d.Scale = sdk.ColumnNumeric, defaultNumericScale
			if m := numericScaleRe.FindStringSubmatch(c.Type); m != nil {
				d.Scale, _ = strconv.Atoi(m[1])
			}
		case kFloat:
			d.Type = sdk.ColumnFloat64
		case kBool:
			d.Type = sdk.ColumnBool
		case kTimestamptz, kTimestamp, kDate:
			d.Type = sdk.ColumnTimestamp
		default:
			d.Type = sdk.ColumnString
		}
		out = append(out, d)
	}
	return out
}
