package mapping

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var src = arrow.NewSchema([]arrow.Field{
	{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64},
	{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8, Metadata: arrow.NewMetadata([]string{"hdi.kind"}, []string{"char"})},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "code", Type: arrow.BinaryTypes.String},
	{Name: "qty", Type: arrow.BinaryTypes.String},
}, nil)

func rec() arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, src)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1704205800123456789, 1704205800123457789}, nil)
	b.Field(1).(*array.Uint32Builder).AppendValues([]uint32{4000000000, 7}, nil)
	b.Field(2).(*array.Uint8Builder).AppendValues([]uint8{'B', 0}, nil)
	b.Field(3).(*array.Int64Builder).AppendValues([]int64{-1, 9223372036854775806}, []bool{true, true})
	b.Field(4).(*array.StringBuilder).AppendValues([]string{" x ", "y"}, nil)
	b.Field(5).(*array.StringBuilder).AppendValues([]string{"12", "13"}, nil)
	return b.NewRecordBatch()
}

const ddl = `CREATE TABLE bars (
  ts timestamptz NOT NULL, ts_event bigint NOT NULL, dataset text NOT NULL,
  instrument_id bigint NOT NULL, side char(1), price bigint, price_dec numeric,
  code text, code_u text, kind text, qty integer, src text NOT NULL, twice bigint,
  note text, id bigint GENERATED ALWAYS AS IDENTITY,
  UNIQUE (dataset, instrument_id, ts_event))`

func TestPlanApplyCopy(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := pool.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	ti, err := IntrospectTable(ctx, pool, "bars")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ti.UniqueKey, ",") != "dataset,instrument_id,ts_event" {
		t.Fatalf("key = %v", ti.UniqueKey)
	}
	str := func(s string) *string { return &s }
	spec := jobspec.Mapping{Columns: []jobspec.ColumnSpec{
		{Column: "price_dec", From: "price", Transform: "fixed_to_decimal"},
		{Column: "code_u", From: "code", Transform: "trim"},
		{Column: "kind", From: "code", Transform: "trim", Enum: map[string]string{"x": "EX", "*": "other"}},
		{Column: "qty", Cast: "integer"},
		{Column: "src", Const: str("dbn")},
		{Column: "twice", Expr: "instrument_id * 2"},
	}, Drop: nil}
	p, err := NewPlan(spec, Source{Schema: src, TimeField: "ts_event", Dataset: "GLBX.MDP3"}, ti)
	if err != nil {
		t.Fatal(err)
	}
	if p.TimeColumn != "ts" || p.TimeSource != "ts_event" {
		t.Fatalf("time column %q from %q", p.TimeColumn, p.TimeSource)
	}
	b, err := p.Apply(rec())
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, b.Len())
	for i := range rows {
		rows[i] = make([]any, len(p.Columns))
		if err := b.Values(i, rows[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.CopyFrom(ctx, ti.Ident(), p.Columns, pgx.CopyFromRows(rows[i:i+1])); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	if err := pool.QueryRow(ctx, `SELECT string_agg(concat_ws('|', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), ts_event, dataset, instrument_id, coalesce(side, 'NULL'), price, price_dec, code, code_u, kind, qty, src, twice), E'\n' ORDER BY ts) FROM bars`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "2024-01-02 14:30:00.123456|1704205800123456789|GLBX.MDP3|4000000000|B|-1|-0.000000001| x |x|EX|12|dbn|8000000000\n" +
		"2024-01-02 14:30:00.123457|1704205800123457789|GLBX.MDP3|7|NULL|9223372036854775806|9223372036.854775806|y|y|other|13|dbn|14"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPlanErrors(t *testing.T) {
	ti := TableInfo{Schema: "public", Table: "t", Columns: []ColumnInfo{
		{Name: "ts", Type: "timestamp with time zone", TypeOID: 1184, NotNull: true},
		{Name: "ts_event", Type: "bigint", TypeOID: 20, NotNull: true},
		{Name: "instrument_id", Type: "integer", TypeOID: 23, NotNull: true},
		{Name: "side", Type: "character(1)", TypeOID: 1042},
		{Name: "price", Type: "bigint", TypeOID: 20},
		{Name: "code", Type: "bigint", TypeOID: 20},
		{Name: "qty", Type: "text", TypeOID: 25},
		{Name: "must", Type: "text", TypeOID: 25, NotNull: true},
	}}
	_, err := NewPlan(jobspec.Mapping{}, Source{Schema: src, TimeField: "ts_event"}, ti)
	if err == nil || !strings.Contains(err.Error(), `column "code" (bigint) <- field "code" (utf8): type mismatch`) {
		t.Fatalf("mismatch: %v", err)
	}
	ti.Columns[5].TypeOID, ti.Columns[5].Type = 25, "text"
	_, err = NewPlan(jobspec.Mapping{}, Source{Schema: src, TimeField: "ts_event"}, ti)
	if err == nil || !strings.Contains(err.Error(), `column "must" (text NOT NULL) has no source`) {
		t.Fatalf("missing: %v", err)
	}
	ti.Columns = ti.Columns[:7]
	ti.Columns = append(ti.Columns[:6], ColumnInfo{Name: "other", Type: "text", TypeOID: 25})
	_, err = NewPlan(jobspec.Mapping{}, Source{Schema: src, TimeField: "ts_event"}, ti)
	if err == nil || !strings.Contains(err.Error(), "field(s) qty (utf8) have no column") {
		t.Fatalf("extra: %v", err)
	}
	p, err := NewPlan(jobspec.Mapping{Drop: []string{"qty"}}, Source{Schema: src, TimeField: "ts_event"}, ti)
	if err != nil {
		t.Fatal(err)
	}
	// uint32 into integer: checked at run time
	b, _ := p.Apply(rec())
	vals := make([]any, len(p.Columns))
	if err := b.Values(0, vals); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("narrowing: %v", err)
	}
}

// TestDropNotNull: dropping the field of a NOT NULL column says so, rather
// than that the stream lacks the field.
func TestDropNotNull(t *testing.T) {
	ti := TableInfo{Schema: "public", Table: "t", Columns: []ColumnInfo{
		{Name: "ts_event", Type: "bigint", TypeOID: 20, NotNull: true},
		{Name: "code", Type: "text", TypeOID: 25, NotNull: true},
	}}
	s := arrow.NewSchema([]arrow.Field{{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64}, {Name: "code", Type: arrow.BinaryTypes.String}}, nil)
	_, err := NewPlan(jobspec.Mapping{Drop: []string{"code"}}, Source{Schema: s}, ti)
	if err == nil || err.Error() != `mapping: drop: field "code" fills column "code" (text NOT NULL, no default): map the column from another field or a const under `+"`columns:`"+`, or do not drop it` {
		t.Fatalf("got %v", err)
	}
}

// TestExactDecimals: int64 decimals with a declared scale and decimal128
// fields load into numeric columns exactly, and DeclareColumns gives csv
// the table's types.
func TestExactDecimals(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE px (a numeric(12,4) NOT NULL, b numeric, c bigint, d text, e date, f timestamptz DEFAULT now() NOT NULL,
		g smallint, h varchar(8), i char(2), j integer)`); err != nil {
		t.Fatal(err)
	}
	ti, err := IntrospectTable(ctx, pool, "px")
	if err != nil {
		t.Fatal(err)
	}
	// What each column holds: NOT NULL (a default or not: COPY writes the
	// value), numeric's precision, the length of varchar and char, the
	// width of smallint and integer.
	var decl []string
	for _, c := range DeclareColumns(ti) {
		decl = append(decl, fmt.Sprintf("%s/p%d/l%d/b%d", c, c.Precision, c.Length, c.Bits))
	}
	if got, want := strings.Join(decl, ","), "a:numeric(4)!/p12/l0/b0,b:numeric(18)/p0/l0/b0,c:int64/p0/l0/b0,d:string/p0/l0/b0,"+
		"e:timestamp/p0/l0/b0,f:timestamp!/p0/l0/b0,g:int64/p0/l0/b16,h:string/p0/l8/b0,i:string/p0/l2/b0,j:int64/p0/l0/b32"; got != want {
		t.Errorf("declared\n%s\nwant\n%s", got, want)
	}
	s := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: &arrow.Decimal128Type{Precision: 38, Scale: 4}},
		{Name: "b", Type: arrow.PrimitiveTypes.Int64, Metadata: arrow.NewMetadata([]string{"hdi.scale"}, []string{"9"})},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, s)
	bld.Field(0).(*array.Decimal128Builder).Append(decimal128.FromI64(51002500))
	bld.Field(1).(*array.Int64Builder).Append(-1)
	b := planBatch(t, ti, bld.NewRecordBatch())
	p := b.Plan
	row := make([]any, len(p.Columns))
	if err := b.Values(0, row); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, ti.Ident(), p.Columns, pgx.CopyFromRows([][]any{row})); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := pool.QueryRow(ctx, `SELECT a::text || '|' || b::text FROM px`).Scan(&got); err != nil || got != "5100.2500|-0.000000001" {
		t.Fatalf("stored %q, %v", got, err)
	}
}

// planBatch maps rec into table ti with the default mapping.
func planBatch(t *testing.T, ti TableInfo, rec arrow.RecordBatch) *Batch {
	t.Helper()
	p, err := NewPlan(jobspec.Mapping{}, Source{Schema: rec.Schema()}, ti)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLimitsAgreeWithPostgreSQL: for values at and beyond the bounds of
// numeric(p,s), varchar(n), char(n), smallint, integer and text, the
// mapping's checks refuse exactly what PostgreSQL refuses (asked with an
// INSERT of the value's text), and what they let through, a binary COPY
// stores.
func TestLimitsAgreeWithPostgreSQL(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewDB(t))
	cases := []struct {
		typ  string
		vals []string
	}{
		{"numeric(12,4)", []string{"99999999.9999", "-99999999.9999", "99999999999.9999", "99999999.99994", "99999999.99995", "-99999999.99995", "100000000", "0.00001", "0"}},
		{"numeric(5,-2)", []string{"9999949", "9999950", "-9999950", "123", "10000000"}},
		{"numeric(2,4)", []string{"0.0099", "0.00994", "0.00995", "0.01", "-0.01", "0"}},
		{"numeric(3,0)", []string{"999", "999.4", "999.5", "-999.5", "1000"}},
		{"varchar(4)", []string{"ESH4", "ESH45", "ESH4 ", "ESH4  x", "ÉSH4", "ÉSH4É", "ÉSH4   ", "", "a\x00b", "\xff"}},
		{"varchar(3)", []string{"abc", "abcd", "abc   ", "ab  x", ""}}, // all ASCII: lengths alone are checked
		{"character(2)", []string{"ab", "abc", "ab  ", "é ", "éé ", "é\x00"}},
		{"text", []string{"", "x", "a\x00", "\xc3", "\xc3\xa9"}},
		{"smallint", []string{"32767", "-32768", "32768", "-32769"}},
		{"integer", []string{"2147483647", "-2147483648", "2147483648", "-2147483649"}},
	}
	for n, c := range cases {
		table := fmt.Sprintf("lim%d", n)
		if _, err := pool.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (v %s)", table, c.typ)); err != nil {
			t.Fatal(err)
		}
		ti, err := IntrospectTable(ctx, pool, table)
		if err != nil {
			t.Fatal(err)
		}
		// The source field: int64 for integer columns, decimal128 for
		// numeric, a string for text.
		var field arrow.Field
		switch k := kindOf(ti.Columns[0].TypeOID); {
		case k.isInt():
			field = arrow.Field{Name: "v", Type: arrow.PrimitiveTypes.Int64}
		case k == kNumeric:
			field = arrow.Field{Name: "v", Type: &arrow.Decimal128Type{Precision: 38, Scale: 6}}
		default:
			field = arrow.Field{Name: "v", Type: arrow.BinaryTypes.String}
		}
		s := arrow.NewSchema([]arrow.Field{field}, nil)
		bld := array.NewRecordBuilder(memory.DefaultAllocator, s)
		for _, v := range c.vals {
			switch b := bld.Field(0).(type) {
			case *array.Int64Builder:
				var x int64
				fmt.Sscan(v, &x)
				b.Append(x)
			case *array.Decimal128Builder:
				d, err := decimal128.FromString(v, 38, 6)
				if err != nil {
					t.Fatal(err)
				}
				b.Append(d)
			case *array.StringBuilder:
				b.Append(v)
			}
		}
		b := planBatch(t, ti, bld.NewRecordBatch())
		for i, v := range c.vals {
			_, ours := b.AppendCopyRow(nil, i)
			vals := make([]any, 1)
			viaValues := b.Values(i, vals)
			var pg error // what an INSERT of the value's text says, rolled back
			if tx, err := pool.Begin(ctx); err != nil {
				t.Fatal(err)
			} else {
				_, pg = tx.Exec(ctx, "INSERT INTO "+table+" (v) VALUES ($1)", v)
				_ = tx.Rollback(ctx)
			}
			if (ours == nil) != (pg == nil) || (viaValues == nil) != (pg == nil) {
				t.Errorf("%s %q: ours %v, via Values %v; PostgreSQL %v", c.typ, v, ours, viaValues, pg)
			}
		}
		// What passes the checks, a binary COPY stores.
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range c.vals {
			row, err := b.AppendCopyRow(nil, i)
			if err != nil {
				continue
			}
			data := append([]byte("PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000"), row...)
			data = append(data, 0xFF, 0xFF)
			if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), "COPY "+table+" FROM STDIN BINARY"); err != nil {
				t.Errorf("%s %q: passed the checks, but COPY: %v", c.typ, v, err)
				break
			}
		}
		_ = tx.Rollback(ctx)
	}
}

// TestCharChecks: a char byte of 0x80 or more is not UTF-8 on its own and
// is refused for a text column; a NUL char is NULL, refused for NOT NULL.
func TestCharChecks(t *testing.T) {
	ti := TableInfo{Schema: "public", Table: "t", Columns: []ColumnInfo{
		{Name: "c", Type: "text", TypeOID: 25},
		{Name: "d", Type: "character(1)", TypeOID: 1042, TypeMod: 5, NotNull: true},
	}}
	char := arrow.NewMetadata([]string{"hdi.kind"}, []string{"char"})
	s := arrow.NewSchema([]arrow.Field{{Name: "c", Type: arrow.PrimitiveTypes.Uint8, Metadata: char}, {Name: "d", Type: arrow.PrimitiveTypes.Uint8, Metadata: char}}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, s)
	bld.Field(0).(*array.Uint8Builder).AppendValues([]uint8{'A', 0xC3, 0, 'B'}, nil)
	bld.Field(1).(*array.Uint8Builder).AppendValues([]uint8{'N', 'N', 'N', 0}, nil)
	b := planBatch(t, ti, bld.NewRecordBatch())
	var got []string
	for i := range b.Len() {
		_, err := b.AppendCopyRow(nil, i)
		got = append(got, fmt.Sprint(err))
	}
	want := []string{"<nil>", `row 1: column "c" (text): the character 0xc3 alone is not valid UTF-8`, "<nil>",
		`row 3: column "d" (character(1)): no value (NULL), but the column is NOT NULL`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
