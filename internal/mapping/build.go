package mapping

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/rules/arrowval"
)

func mismatch(col ColumnInfo, f arrow.Field, why string) error {
	return fmt.Errorf("mapping: column %q (%s) <- field %q (%s): %s", col.Name, col.Type, f.Name, f.Type, why)
}

func isIntType(id arrow.Type) bool {
	switch id {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// planField maps a source field into col with the fast readers: no cast, no
// enum, and transform "", fixed_to_decimal or ns_to_timestamptz.
func planField(col ColumnInfo, k kind, src *arrow.Schema, field, transform string) (colPlan, error) {
	idx := src.FieldIndices(field)
	if idx == nil {
		return colPlan{}, fmt.Errorf("mapping: column %q: field %q is not in the stream (fields: %s)", col.Name, field, fieldNames(src))
	}
	fi := idx[0]
	f := src.Field(fi)
	id := f.Type.ID()
	cp := colPlan{name: col.Name, field: field}
	switch transform {
	case "fixed_to_decimal":
		if id != arrow.INT64 || (k != kNumeric) {
			return cp, mismatch(col, f, "fixed_to_decimal needs an int64 field and a numeric column")
		}
		cp.bind = decimalBinder(fi, 9)
		return cp, nil
	case "ns_to_timestamptz":
		if (id != arrow.INT64 && id != arrow.TIMESTAMP) || (k != kTimestamptz && k != kTimestamp) {
			return cp, mismatch(col, f, "ns_to_timestamptz needs an int64 nanosecond field and a timestamptz column")
		}
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			arr := rec.Column(fi)
			vals, _ := int64Values(arr)
			return &nsTimeReader{arr: arr, vals: vals}, nil
		}
		return cp, nil
	case "":
	default:
		return cp, fmt.Errorf("mapping: column %q: unknown transform %q (want fixed_to_decimal, ns_to_timestamptz, upper, lower or trim)", col.Name, transform)
	}
	char := arrowval.IsChar(f)
	scale, scaled := arrowval.Scale(f)
	switch {
	case id == arrow.INT64 && scaled && k == kNumeric:
		cp.bind = decimalBinder(fi, scale)
	case id == arrow.DECIMAL128 && k == kNumeric:
		sc := f.Type.(*arrow.Decimal128Type).Scale
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			return &decimal128Reader{a: rec.Column(fi).(*array.Decimal128), scale: sc}, nil
		}
	case char && k == kText:
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			return &charReader{a: rec.Column(fi).(*array.Uint8)}, nil
		}
	case id == arrow.UINT64 && k == kInt8:
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			return &uint64Reader{a: rec.Column(fi).(*array.Uint64)}, nil
		}
	case id == arrow.UINT64 && k == kNumeric:
		cp.bind = slowBinder(fi, false, nil, k)
	case isIntType(id) && (k.isInt() || k == kNumeric):
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			r, _ := bindInt(rec.Column(fi), k)
			return r, nil
		}
	case (id == arrow.FLOAT64 || id == arrow.FLOAT32) && k == kFloat:
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			arr := rec.Column(fi)
			r := &floatReader{arr: arr}
			if a, ok := arr.(*array.Float64); ok {
				r.get = a.Value
			} else {
				a32 := arr.(*array.Float32)
				r.get = func(i int) float64 { return float64(a32.Value(i)) }
			}
			return r, nil
		}
	case (id == arrow.STRING || id == arrow.LARGE_STRING) && k == kText:
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			return &stringReader{a: rec.Column(fi).(stringArray)}, nil
		}
	case id == arrow.BOOL && k == kBool:
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			return &boolReader{a: rec.Column(fi).(*array.Boolean)}, nil
		}
	case id == arrow.TIMESTAMP && (k == kTimestamptz || k == kTimestamp || k == kDate):
		unit := f.Type.(*arrow.TimestampType).Unit
		cp.bind = func(rec arrow.RecordBatch) (reader, error) {
			a := rec.Column(fi).(*array.Timestamp)
			return funcReader(func(i int) (any, error) {
				if a.IsNull(i) {
					return nil, nil
				}
				return a.Value(i).ToTime(unit), nil
			}), nil
		}
	default:
		hint := "add `cast:` with the column's type, or map another field"
		if isIntType(id) && (k == kTimestamptz || k == kTimestamp) {
			hint = "add `transform: ns_to_timestamptz`"
		} else if id == arrow.INT64 && k == kNumeric {
			hint = "add `transform: fixed_to_decimal`"
		}
		return cp, mismatch(col, f, "type mismatch: "+hint)
	}
	return cp, nil
}

// decimalBinder reads an int64 field of fixed-point units of 10^-scale into
// an exact numeric.
func decimalBinder(fi int, scale int32) func(arrow.RecordBatch) (reader, error) {
	return func(rec arrow.RecordBatch) (reader, error) {
		arr := rec.Column(fi)
		return &decimalReader{arr: arr, vals: arr.(*array.Int64).Int64Values(), scale: scale}, nil
	}
}

// slowBinder reads through arrowval.Value, applies fn (may be nil) and
// converts to the column's kind.
func slowBinder(fi int, char bool, fn func(any) (any, error), k kind) func(arrow.RecordBatch) (reader, error) {
	return func(rec arrow.RecordBatch) (reader, error) {
		arr := rec.Column(fi)
		return funcReader(func(i int) (any, error) {
			v := arrowval.Value(arr, i, char)
			if fn != nil && v != nil {
				var err error
				if v, err = fn(v); err != nil {
					return nil, err
				}
			}
			return convert(k, v)
		}), nil
	}
}

// planSpec builds a column from a `columns:` entry.
func planSpec(cs jobspec.ColumnSpec, col ColumnInfo, k kind, src *arrow.Schema, used map[string]bool) (colPlan, error) {
	n := 0
	if cs.From != "" {
		n++
	}
	if cs.Const != nil {
		n++
	}
	if cs.Expr != "" {
		n++
	}
	if n > 1 {
		return colPlan{}, fmt.Errorf("mapping%s: column %q: give only one of from, const and expr", at(cs.Line), cs.Column)
	}
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("mapping%s: %w", at(cs.Line), err)
	}
	var castK kind
	if cs.Cast != "" {
		var ok bool
		if castK, ok = castKind(cs.Cast); !ok {
			return colPlan{}, wrap(fmt.Errorf("column %q: unknown cast %q (want bigint, integer, smallint, numeric, double precision, text, boolean or timestamptz)", cs.Column, cs.Cast))
		}
	}
	post, err := postFunc(cs, castK)
	if err != nil {
		return colPlan{}, wrap(err)
	}
	switch {
	case cs.Const != nil:
		var v any = *cs.Const
		if post != nil {
			if v, err = post(v); err != nil {
				return colPlan{}, wrap(fmt.Errorf("column %q: const %q: %v", cs.Column, *cs.Const, err))
			}
		}
		v, err = convert(k, v)
		if err != nil {
			return colPlan{}, wrap(fmt.Errorf("column %q (%s): const %q: %v", cs.Column, col.Type, *cs.Const, err))
		}
		return constCol(col.Name, v), nil
	case cs.Expr != "":
		cp, err := planExpr(cs, col, k, src, post, used)
		return cp, wrap(err)
	}
	field := cs.From
	if field == "" {
		field = cs.Column
	}
	idx := src.FieldIndices(field)
	if idx == nil {
		return colPlan{}, wrap(fmt.Errorf("column %q: field %q is not in the stream (fields: %s)", cs.Column, field, fieldNames(src)))
	}
	used[field] = true
	fast := cs.Cast == "" && len(cs.Enum) == 0 && (cs.Transform == "" || cs.Transform == "fixed_to_decimal" || cs.Transform == "ns_to_timestamptz")
	if fast {
		cp, err := planField(col, k, src, field, cs.Transform)
		return cp, wrap(err)
	}
	f := src.Field(idx[0])
	if cs.Transform == "fixed_to_decimal" || cs.Transform == "ns_to_timestamptz" {
		if f.Type.ID() != arrow.INT64 {
			return colPlan{}, wrap(mismatch(col, f, cs.Transform+" needs an int64 field"))
		}
	}
	return colPlan{name: col.Name, field: field, bind: slowBinder(idx[0], arrowval.IsChar(f), post, k)}, nil
}

// postFunc chains transform, enum and cast for the slow path.
func postFunc(cs jobspec.ColumnSpec, castK kind) (func(any) (any, error), error) {
	var steps []func(any) (any, error)
	switch cs.Transform {
	case "":
	case "upper", "lower", "trim":
		f := map[string]func(string) string{"upper": strings.ToUpper, "lower": strings.ToLower, "trim": strings.TrimSpace}[cs.Transform]
		steps = append(steps, func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s needs a string, got %T", cs.Transform, v)
			}
			return f(s), nil
		})
	case "fixed_to_decimal":
		steps = append(steps, func(v any) (any, error) {
			x, ok := v.(int64)
			if !ok {
				return nil, fmt.Errorf("fixed_to_decimal needs an int64, got %T", v)
			}
			return fixedDecimal(x), nil
		})
	case "ns_to_timestamptz":
		steps = append(steps, func(v any) (any, error) { return convert(kTimestamptz, v) })
	default:
		return nil, fmt.Errorf("column %q: unknown transform %q (want fixed_to_decimal, ns_to_timestamptz, upper, lower or trim)", cs.Column, cs.Transform)
	}
	if len(cs.Enum) > 0 {
		m := cs.Enum
		def, hasDef := m["*"]
		steps = append(steps, func(v any) (any, error) {
			key, err := convert(kText, v)
			if err != nil {
				return nil, err
			}
			if out, ok := m[key.(string)]; ok {
				return out, nil
			}
			if hasDef {
				return def, nil
			}
			return nil, fmt.Errorf("value %q is not in the enum map (add it, or a \"*\" default)", key)
		})
	}
	if cs.Cast != "" {
		steps = append(steps, func(v any) (any, error) {
			out, err := convert(castK, v)
			if err != nil {
				return nil, fmt.Errorf("cast to %s: %v", cs.Cast, err)
			}
			return out, nil
		})
	}
	if len(steps) == 0 {
		return nil, nil
	}
	return func(v any) (any, error) {
		var err error
		for _, s := range steps {
			if v == nil {
				return nil, nil
			}
			if v, err = s(v); err != nil {
				return nil, err
			}
		}
		return v, nil
	}, nil
}

// planExpr builds a computed column.
func planExpr(cs jobspec.ColumnSpec, col ColumnInfo, k kind, src *arrow.Schema, post func(any) (any, error), used map[string]bool) (colPlan, error) {
	prog, env, err := arrowval.CompileExpr(cs.Expr, src)
	if err != nil {
		return colPlan{}, fmt.Errorf("column %q: expr %q: %v", cs.Column, cs.Expr, err)
	}
	for _, f := range env.Fields() {
		used[f] = true
	}
	return colPlan{name: col.Name, bind: func(rec arrow.RecordBatch) (reader, error) {
		e := env.Clone()
		e.Bind(rec)
		return funcReader(func(i int) (any, error) {
			v, err := e.Run(prog, i)
			if err != nil {
				return nil, fmt.Errorf("expr: %v", err)
			}
			if post != nil && v != nil {
				if v, err = post(v); err != nil {
					return nil, err
				}
			}
			v, err = convert(k, normalize(v))
			if err != nil {
				return nil, fmt.Errorf("expr result: %v", err)
			}
			return v, nil
		}), nil
	}}, nil
}

// normalize widens expr-lang results to convert's input types.
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}
