// Package mapping turns a provider's Arrow record batches into the columns of
// a PostgreSQL target table: source fields to columns by name by default,
// plus renames, constants, casts, exact fixed-point decimals, nanosecond
// timestamps, string transforms, enum maps and computed (expr) columns. A
// Plan is checked against the table's real columns before any data moves.
package mapping

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hdi-dev/hdi/internal/jobspec"
)

// Plan maps batches of one source schema to one target table.
type Plan struct {
	// Table is the target, as introspected.
	Table TableInfo
	// Columns are the target columns written, in COPY order.
	Columns []string
	// Types are their PostgreSQL types, in the same order.
	Types []string
	// TimeColumn is the column filled from a nanosecond field ("" if none),
	// TimeSource that field.
	TimeColumn, TimeSource string
	// InstrumentColumn is the index in Columns of instrument_id, or -1.
	InstrumentColumn int

	src  *arrow.Schema
	cols []colPlan

	// binary COPY (see binary.go): nil typeMap means not available.
	typeMap  *pgtype.Map
	constEnc []constEncoder
}

type colPlan struct {
	name  string
	field string // the source field; "" for a constant or an expression
	bind  func(rec arrow.RecordBatch) (reader, error)
	col   ColumnInfo // the target column
	oid   uint32     // the target column's (base) type
	// isConst marks a constant column; constVal is its value.
	isConst  bool
	constVal any
}

// Source is what a mapping reads from: the stream's Arrow schema, the field
// the provider declares as each record's time, and the unit's dataset.
type Source struct {
	Schema *arrow.Schema
	// TimeField fills the time column (TimeColumn) unless mapped; "" for none.
	TimeField string
	// Dataset fills the dataset column when the stream has no such field.
	Dataset string
}

// NewPlan builds and checks a mapping from the source into table. Errors
// name the column, the field and both types, and say what to change.
func NewPlan(spec jobspec.Mapping, source Source, table TableInfo) (*Plan, error) {
	src, dataset := source.Schema, source.Dataset
	p := &Plan{Table: table, src: src, InstrumentColumn: -1}
	defaults := spec.Defaults == nil || *spec.Defaults
	byCol := map[string]jobspec.ColumnSpec{}
	for _, cs := range spec.Columns {
		if _, ok := table.Column(cs.Column); !ok {
			return nil, fmt.Errorf("mapping%s: column %q is not in table %s.%s (columns: %s)", at(cs.Line), cs.Column, table.Schema, table.Table, colNames(table))
		}
		if _, dup := byCol[cs.Column]; dup {
			return nil, fmt.Errorf("mapping%s: column %q is mapped twice", at(cs.Line), cs.Column)
		}
		byCol[cs.Column] = cs
	}
	dropped := map[string]bool{}
	for _, d := range spec.Drop {
		if src.FieldIndices(d) == nil {
			return nil, fmt.Errorf("mapping: drop: field %q is not in the stream (fields: %s)", d, fieldNames(src))
		}
		dropped[d] = true
	}
	used := map[string]bool{}
	timeSrc := ""
	if source.TimeField != "" && src.FieldIndices(source.TimeField) != nil {
		timeSrc = source.TimeField
	}

	for _, col := range table.Columns {
		if col.Generated {
			continue
		}
		k := kindOf(col.TypeOID)
		var (
			cp  colPlan
			err error
			ok  = true
		)
		switch cs, has := byCol[col.Name]; {
		case has:
			cp, err = planSpec(cs, col, k, src, used)
		case defaults && src.FieldIndices(col.Name) != nil && !dropped[col.Name]:
			used[col.Name] = true
			cp, err = planField(col, k, src, col.Name, "")
		case col.Name == DatasetColumn && dataset != "":
			v, cerr := convert(k, dataset)
			if cerr != nil {
				return nil, fmt.Errorf("mapping: column %q (%s): dataset %q: %v", col.Name, col.Type, dataset, cerr)
			}
			cp = constCol(col.Name, v)
		case col.Name == TimeColumn && timeSrc != "" && (k == kTimestamptz || k == kTimestamp):
			used[timeSrc] = true
			p.TimeColumn, p.TimeSource = col.Name, timeSrc
			cp, err = planField(col, k, src, timeSrc, "ns_to_timestamptz")
		case !col.NotNull || col.HasDefault:
			ok = false // left to NULL or its default
		case dropped[col.Name]:
			return nil, fmt.Errorf("mapping: drop: field %q fills column %q (%s NOT NULL, no default): map the column from another field or a const under `columns:`, or do not drop it", col.Name, col.Name, col.Type)
		default:
			return nil, fmt.Errorf("mapping: column %q (%s NOT NULL) has no source: no field %q in the stream (fields: %s); map it with `columns: [{column: %s, from: FIELD}]` or give it a default", col.Name, col.Type, col.Name, fieldNames(src), col.Name)
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if cs, has := byCol[col.Name]; has && col.Name == TimeColumn {
			p.TimeColumn, p.TimeSource = col.Name, cs.From
		}
		if col.Name == "instrument_id" {
			p.InstrumentColumn = len(p.cols)
		}
		cp.col, cp.oid = col, col.TypeOID
		if err := cp.checkConst(); err != nil {
			return nil, err
		}
		p.cols = append(p.cols, cp)
		p.Columns = append(p.Columns, col.Name)
		p.Types = append(p.Types, col.Type)
	}
	if defaults {
		var extra []string
		for _, f := range src.Fields() {
			if !used[f.Name] && !dropped[f.Name] {
				extra = append(extra, fmt.Sprintf("%s (%s)", f.Name, f.Type))
			}
		}
		if len(extra) > 0 {
			return nil, fmt.Errorf("mapping: field(s) %s have no column in table %s.%s: add the column(s) with a migration, map them with `columns:`, or list them under `drop:`", strings.Join(extra, ", "), table.Schema, table.Table)
		}
	}
	if len(p.cols) == 0 {
		return nil, fmt.Errorf("mapping: nothing to write into %s.%s", table.Schema, table.Table)
	}
	p.prepareBinary()
	return p, nil
}

func at(line int) string {
	if line > 0 {
		return fmt.Sprintf(" (line %d)", line)
	}
	return ""
}

func colNames(t TableInfo) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func constBinder(v any) func(arrow.RecordBatch) (reader, error) {
	r := constReader{v: v}
	return func(arrow.RecordBatch) (reader, error) { return r, nil }
}

func constCol(name string, v any) colPlan {
	return colPlan{name: name, bind: constBinder(v), isConst: true, constVal: v}
}

// Field returns the source field that fills column ("" for a constant, an
// expression, or a column the plan does not write).
func (p *Plan) Field(column string) string {
	for _, c := range p.cols {
		if c.name == column {
			return c.field
		}
	}
	return ""
}

// Apply binds the plan to one batch. The batch must have the plan's schema.
func (p *Plan) Apply(rec arrow.RecordBatch) (*Batch, error) {
	if !sameFields(rec.Schema(), p.src) {
		return nil, fmt.Errorf("mapping: batch schema changed mid-stream: got [%s], planned for [%s]", fieldNames(rec.Schema()), fieldNames(p.src))
	}
	b := &Batch{Plan: p, Rec: rec, rows: int(rec.NumRows()), readers: make([]reader, len(p.cols))}
	for j, c := range p.cols {
		r, err := c.bind(rec)
		if err != nil {
			return nil, err
		}
		b.readers[j] = r
	}
	return b, nil
}

func sameFields(a, b *arrow.Schema) bool {
	if a == b {
		return true
	}
	return slices.EqualFunc(a.Fields(), b.Fields(), func(x, y arrow.Field) bool {
		return x.Name == y.Name && arrow.TypeEqual(x.Type, y.Type)
	})
}

// Batch is one record batch bound to a Plan: the target columns' values,
// row by row, in the shapes pgx's COPY encodes without extra work.
type Batch struct {
	Plan     *Plan
	Rec      arrow.RecordBatch
	rows     int
	readers  []reader
	encoders []fieldEncoder // binary COPY, bound on first use
	columns  []colEncoder   // AppendCopyRows' block encoders, bound on first use
	scratch  blockScratch
	nums     []*numericLimit // Values' numeric bounds, bound on first use
}

// Len is the number of rows.
func (b *Batch) Len() int { return b.rows }

// Values fills dst (len(Plan.Columns)) with row i. Values may point into the
// batch and are valid until the next call to Values. A value its column
// cannot hold is a *ValueError (see limits.go).
func (b *Batch) Values(i int, dst []any) error {
	if b.nums == nil {
		b.nums = make([]*numericLimit, len(b.readers))
		for j := range b.nums {
			b.nums[j] = b.Plan.cols[j].numericLimit()
		}
	}
	for j, r := range b.readers {
		v, err := r.value(i)
		if err == nil && !b.Plan.cols[j].isConst {
			err = b.Plan.cols[j].checkValue(v, b.nums[j])
		}
		if err != nil {
			return b.Plan.valueError(i, j, err)
		}
		dst[j] = v
	}
	return nil
}
