package rules

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hdi-dev/hdi/internal/jsonstr"
	"github.com/hdi-dev/hdi/internal/rules/arrowval"
)

// RowJSON returns row i of rec as a JSON object, fields by name in stream
// order: integers as exact JSON numbers (int64 prices and nanosecond times
// keep every digit), nulls as null, side/action bytes as one-character
// strings. It is what the quarantine table's record column holds.
func RowJSON(rec arrow.RecordBatch, i int) ([]byte, error) {
	if i < 0 || i >= int(rec.NumRows()) {
		return nil, fmt.Errorf("rules: RowJSON: row %d out of range [0, %d)", i, rec.NumRows())
	}
	schema := rec.Schema()
	buf := make([]byte, 0, 32*schema.NumFields())
	buf = append(buf, '{')
	for j, f := range schema.Fields() {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = jsonstr.Append(buf, f.Name)
		buf = append(buf, ':')
		buf = arrowval.AppendJSON(buf, rec.Column(j), i, arrowval.IsChar(f))
	}
	return append(buf, '}'), nil
}
