package mapping

import (
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// defaultNumericScale is the scale of an unconstrained numeric column read
// from text: 18 places after the point, 20 before (decimal128 holds 38).
const defaultNumericScale = 18

// DeclareColumns declares the table's writable columns for a provider whose
// stream schema the job gives (csv with no source.columns): each with the
// type that reads into the column exactly, and what the column holds, so
// the provider reports a value the column cannot hold with its place in
// the source. Integers are int64 (with the column's width), numeric is an
// exact decimal with the column's scale and precision, text is string
// (with varchar(n)'s or char(n)'s length), timestamps and dates are
// timestamps; a NOT NULL column is not nullable, default or not (a value
// COPY writes replaces the default). Types with no closer match are
// strings, which PostgreSQL then parses.
func DeclareColumns(t TableInfo) []sdk.Column {
	var out []sdk.Column
	for _, c := range t.Columns {
		if c.Generated {
			continue
		}
		d := sdk.Column{Name: c.Name, Nullable: !c.NotNull}
		switch kindOf(c.TypeOID) {
		case kInt2:
			d.Type, d.Bits = sdk.ColumnInt64, 16
		case kInt4:
			d.Type, d.Bits = sdk.ColumnInt64, 32
		case kInt8:
			d.Type = sdk.ColumnInt64
		case kNumeric:
			d.Type, d.Scale = sdk.ColumnNumeric, defaultNumericScale
			if p, s, ok := c.NumericLimits(); ok && s >= 0 && s <= 38 {
				d.Scale, d.Precision = s, p
			}
		case kFloat:
			d.Type = sdk.ColumnFloat64
		case kBool:
			d.Type = sdk.ColumnBool
		case kTimestamptz, kTimestamp, kDate:
			d.Type = sdk.ColumnTimestamp
		default:
			d.Type, d.Length = sdk.ColumnString, c.MaxChars()
		}
		out = append(out, d)
	}
	return out
}
