package load

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

// TestBinaryCopyMatchesPgx loads one batch with every fast binary encoder
// (and the generic pgtype fallback for numeric and a constant) through
// copyBatch and through pgx's CopyFrom, and compares the two tables row by
// row: hdi's own binary COPY must write exactly what pgx writes.
func TestBinaryCopyMatchesPgx(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewDB(t))
	const ddl = `(ts timestamptz NOT NULL, ts_ns bigint, i2 smallint, i4 integer, i8 bigint, u8 bigint,
		f8 double precision, ok boolean, s text, vc varchar(10), c char(1), px numeric, src text, n integer)`
	for _, tb := range []string{"bin", "viapgx"} {
		if _, err := pool.Exec(ctx, "CREATE TABLE "+tb+" "+ddl); err != nil {
			t.Fatal(err)
		}
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "ts_ns", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i2", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i4", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f8", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "vc", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "c", Type: arrow.PrimitiveTypes.Uint8, Nullable: true, Metadata: arrow.NewMetadata([]string{"hdi.kind"}, []string{"char"})},
		{Name: "px", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	tsVals := []int64{0, -1, -999, -1000, -1001, 1_704_205_800_123_456_789, -9_000_000_000_000_000_001, 999}
	for i, ts := range tsVals {
		null := i == 3
		app := func(j int, f func()) {
			if null {
				b.Field(j).AppendNull()
			} else {
				f()
			}
		}
		b.Field(0).(*array.Int64Builder).Append(ts)
		app(1, func() { b.Field(1).(*array.Int8Builder).Append(int8(-128 + 37*i)) })
		app(2, func() { b.Field(2).(*array.Uint16Builder).Append(uint16(65535 - i)) })
		app(3, func() { b.Field(3).(*array.Uint32Builder).Append(uint32(4_294_967_295 - uint32(i))) })
		app(4, func() { b.Field(4).(*array.Uint64Builder).Append(uint64(1<<63 - 1 - i)) })
		app(5, func() { b.Field(5).(*array.Float64Builder).Append(-1.5e-300 * float64(i+1)) })
		app(6, func() { b.Field(6).(*array.BooleanBuilder).Append(i%2 == 0) })
		app(7, func() { b.Field(7).(*array.StringBuilder).Append(strings.Repeat("é", i)) })
		app(8, func() { b.Field(8).(*array.StringBuilder).Append("v" + strings.Repeat("x", i)) })
		app(9, func() { b.Field(9).(*array.Uint8Builder).Append("AB\x00N"[i%4]) })
		app(10, func() { b.Field(10).(*array.Int64Builder).Append(-4_500_250_000_001 * int64(i)) })
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	tableFor := func(name string) *mapping.Batch {
		ti, err := mapping.IntrospectTable(ctx, pool, name)
		if err != nil {
			t.Fatal(err)
		}
		from := func(col, field, transform string) jobspec.ColumnSpec {
			return jobspec.ColumnSpec{Column: col, From: field, Transform: transform}
		}
		n := "-7"
		plan, err := mapping.NewPlan(jobspec.Mapping{Columns: []jobspec.ColumnSpec{
			from("ts", "ts_ns", "ns_to_timestamptz"), from("px", "px", "fixed_to_decimal"),
			{Column: "src", Const: new(string)}, {Column: "n", Const: &n},
		}}, mapping.Source{Schema: schema}, ti)
		if err != nil {
			t.Fatal(err)
		}
		if !plan.CopyBinary() {
			t.Fatal("plan should use binary COPY")
		}
		mb, err := plan.Apply(rec)
		if err != nil {
			t.Fatal(err)
		}
		return mb
	}
	rejected := []bool{false, false, true, false, false, false, false, false}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	mb := tableFor("bin")
	if n, bad, err := copyBatch(ctx, tx, pgx.Identifier{"bin"}, mb, rejected); err != nil || n != 7 || len(bad) != 0 {
		t.Fatalf("binary copy: %d rows, %v left out, %v", n, bad, err)
	}
	mb = tableFor("viapgx")
	if n, err := tx.CopyFrom(ctx, pgx.Identifier{"viapgx"}, mb.Plan.Columns, CopySource(mb, rejected)); err != nil || n != 7 {
		t.Fatalf("pgx copy: %d rows, %v", n, err)
	}
	var diff int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM ((TABLE bin EXCEPT ALL TABLE viapgx) UNION ALL (TABLE viapgx EXCEPT ALL TABLE bin)) d`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		rows, _ := tx.Query(ctx, `SELECT 'bin', b::text FROM bin b UNION ALL SELECT 'pgx', v::text FROM viapgx v ORDER BY 2, 1`)
		out, _ := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var a, b string
			err := r.Scan(&a, &b)
			return a + " " + b, err
		})
		t.Fatalf("binary COPY and pgx differ in %d rows:\n%s", diff, strings.Join(out, "\n"))
	}
}

// TestBinaryCopyLeavesOutWhatAColumnCannotHold checks that a value the
// column cannot hold (found by the encoder, before the server sees it) is
// left out of the COPY and reported with its row and column, while the
// other rows load, on both COPY paths.
func TestBinaryCopyLeavesOutWhatAColumnCannotHold(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE narrow (v smallint)`); err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 70_000, 3}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	ti, err := mapping.IntrospectTable(ctx, pool, "narrow")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := mapping.NewPlan(jobspec.Mapping{}, mapping.Source{Schema: schema}, ti)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := plan.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	n, bad, err := copyBatch(ctx, tx, pgx.Identifier{"narrow"}, mb, nil)
	if err != nil || n != 3 || len(bad) != 1 || bad[0].Row != 2 || bad[0].Column != "v" || bad[0].Field != "v" ||
		bad[0].Error() != `row 2: column "v" (smallint): value 70000 out of range [-32768, 32767]: widen the column or map another field` {
		t.Fatalf("binary copy: %d rows, left out %v, %v", n, bad, err)
	}
	src := newSource(mb, nil)
	if n, err := tx.CopyFrom(ctx, pgx.Identifier{"narrow"}, mb.Plan.Columns, src); err != nil || n != 3 || len(src.bad) != 1 || src.bad[0].Row != 2 {
		t.Fatalf("pgx copy: %d rows, left out %v, %v", n, src.bad, err)
	}
	var sum int
	if err := tx.QueryRow(ctx, `SELECT sum(v) FROM narrow`).Scan(&sum); err != nil || sum != 12 {
		t.Fatalf("stored sum %d, %v; want 12", sum, err)
	}
}
