package load

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/synth"
	"github.com/hdi-dev/hdi/plugins/databento/dbprov"
)

// TestAppendCopyRowsMatchesRows: the block encoder (AppendCopyRows) writes
// exactly the bytes of the row encoder (AppendCopyRow, row by row), and
// leaves out exactly the same rows with the same errors, for the real
// tables of every bench schema (NULLs in every nullable field, NUL and
// non-UTF-8 chars) and for a table of numeric(p,s), varchar(n), char(1),
// smallint, float and boolean columns that also refuses values; for whole
// batches, odd row ranges and rejected rows.
func TestAppendCopyRowsMatchesRows(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewMigratedDB(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE mixed (ts timestamptz NOT NULL, instrument_id bigint, px numeric(20,9),
		small numeric(6,2), i2 smallint, vc varchar(3), c char(1), f double precision, ok boolean, src text, note text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type tcase struct {
		table string
		src   mapping.Source
		spec  jobspec.Mapping
	}
	var cases []tcase
	for _, s := range synth.BenchSchemas {
		cases = append(cases, tcase{table: strings.ReplaceAll(s.String(), "-", "_"),
			src: mapping.Source{Schema: dbprov.ArrowSchema(s), TimeField: dbprov.TimeField(s), Dataset: "GLBX.MDP3"}})
	}
	mixed := arrow.NewSchema([]arrow.Field{
		{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "px", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "small", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i2", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "vc", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "c", Type: arrow.PrimitiveTypes.Uint8, Nullable: true, Metadata: arrow.NewMetadata([]string{dbprov.KindKey}, []string{"char"})},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	src := "feed"
	cases = append(cases, tcase{table: "mixed", src: mapping.Source{Schema: mixed, TimeField: "ts_event"},
		spec: jobspec.Mapping{Columns: []jobspec.ColumnSpec{
			{Column: "px", From: "px", Transform: "fixed_to_decimal"},
			{Column: "small", From: "small", Transform: "fixed_to_decimal"},
			{Column: "src", Const: &src},
		}}})
	for _, c := range cases {
		t.Run(c.table, func(t *testing.T) {
			ti, err := mapping.IntrospectTable(ctx, pool, c.table)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := mapping.NewPlan(c.spec, c.src, ti)
			if err != nil {
				t.Fatal(err)
			}
			if !plan.CopyBinary() {
				t.Fatal("the plan cannot encode binary COPY")
			}
			const n = 1500
			rec := randomBatch(rng, c.src.Schema, n, false)
			defer rec.Release()
			skip := make([]bool, n)
			for i := range skip {
				skip[i] = rng.IntN(10) == 0
			}
			for _, sk := range [][]bool{nil, skip} {
				b, err := plan.Apply(rec)
				if err != nil {
					t.Fatal(err)
				}
				var want []byte
				var wantBad []string
				for i := range n {
					if sk != nil && sk[i] {
						continue
					}
					if want, err = b.AppendCopyRow(want, i); err != nil {
						wantBad = append(wantBad, err.Error())
					}
				}
				for _, cuts := range [][]int{{0, n}, {0, 1, 7, 512, 513, 1100, n}} {
					b, err := plan.Apply(rec) // a fresh batch: no state shared with the row encoder
					if err != nil {
						t.Fatal(err)
					}
					var got []byte
					var gotBad []string
					for k := 1; k < len(cuts); k++ {
						var bad []*mapping.ValueError
						if got, bad, err = b.AppendCopyRows(got, cuts[k-1], cuts[k], sk); err != nil {
							t.Fatal(err)
						}
						for _, e := range bad {
							gotBad = append(gotBad, e.Error())
						}
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("cuts %v, rejected rows %v: %d bytes differ from the row encoder's %d (first at %d)", cuts, sk != nil, len(got), len(want), firstDiff(got, want))
					}
					if strings.Join(gotBad, "\n") != strings.Join(wantBad, "\n") {
						t.Fatalf("cuts %v: rows left out\n%s\nwant\n%s", cuts, strings.Join(gotBad, "\n"), strings.Join(wantBad, "\n"))
					}
				}
				if c.table == "mixed" && len(wantBad) == 0 {
					t.Fatal("the mixed table must refuse some values")
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// randomBatch fills n rows of schema with random values: NULLs in
// nullable fields (one in eight), chars that are NUL or not UTF-8 alone,
// strings with multibyte characters and of varying lengths. Clean, it is
// like market data instead: ts_out NULL, no other NULL, chars ASCII.
func randomBatch(rng *rand.Rand, schema *arrow.Schema, n int, clean bool) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	strs := []string{"", "A", "ES", "abc", "abcd", "é", "日本", "GLBX.MDP3"}
	for i := range n {
		for j, f := range schema.Fields() {
			fb := b.Field(j)
			if f.Nullable && (!clean && rng.IntN(8) == 0 || clean && f.Name == dbprov.TsOutField) {
				fb.AppendNull()
				continue
			}
			switch x := fb.(type) {
			case *array.Int64Builder:
				v := 1_704_205_800_000_000_000 + int64(i)*1_000_003 + rng.Int64N(1000) - 500
				if !clean && rng.IntN(4) == 0 {
					v = rng.Int64N(200_000_000_000) - 100_000_000_000
				}
				x.Append(v)
			case *array.Int32Builder:
				x.Append(rng.Int32N(80_000) - 40_000)
			case *array.Int16Builder:
				x.Append(int16(rng.IntN(1 << 16)))
			case *array.Int8Builder:
				x.Append(int8(rng.IntN(256)))
			case *array.Uint64Builder:
				v := rng.Uint64N(1 << 40)
				if !clean && rng.IntN(50) == 0 {
					v = 1<<63 + v
				}
				x.Append(v)
			case *array.Uint32Builder:
				x.Append(rng.Uint32())
			case *array.Uint16Builder:
				x.Append(uint16(rng.IntN(1 << 16)))
			case *array.Uint8Builder:
				chars := []uint8{0, 'A', 'B', 'N', 0xC3, 'T'}
				if clean {
					chars = chars[1:4]
				}
				x.Append(chars[rng.IntN(len(chars))])
			case *array.Float64Builder:
				x.Append(rng.NormFloat64() * 1e6)
			case *array.Float32Builder:
				x.Append(float32(rng.NormFloat64()))
			case *array.BooleanBuilder:
				x.Append(rng.IntN(2) == 0)
			case *array.StringBuilder:
				x.Append(strs[rng.IntN(len(strs))])
			default:
				panic(fmt.Sprintf("randomBatch: no values for %s", f.Type))
			}
		}
	}
	return b.NewRecordBatch()
}

// BenchmarkAppendCopyRows: the row encoder (AppendCopyRow) against the
// block encoder (AppendCopyRows) on 32k clean random rows of each bench
// schema's real table (binary COPY bytes into a reused buffer, no server),
// in the process's CPU time per row.
//
//	HDI_TEST_DATABASE_URL=... go test -run '^$' -bench AppendCopyRows ./internal/load
func BenchmarkAppendCopyRows(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.Connect(b, pgtest.NewMigratedDB(b))
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 32 << 10
	for _, s := range synth.BenchSchemas {
		src := mapping.Source{Schema: dbprov.ArrowSchema(s), TimeField: dbprov.TimeField(s), Dataset: "GLBX.MDP3"}
		ti, err := mapping.IntrospectTable(ctx, pool, strings.ReplaceAll(s.String(), "-", "_"))
		if err != nil {
			b.Fatal(err)
		}
		plan, err := mapping.NewPlan(jobspec.Mapping{}, src, ti)
		if err != nil {
			b.Fatal(err)
		}
		rec := randomBatch(rng, src.Schema, n, true)
		for _, block := range []bool{false, true} {
			name := s.String() + "/rows"
			if block {
				name = s.String() + "/blocks"
			}
			b.Run(name, func(b *testing.B) {
				buf := make([]byte, 0, 1<<20)
				cpu0 := cpuTime()
				for b.Loop() {
					mb, err := plan.Apply(rec)
					if err != nil {
						b.Fatal(err)
					}
					buf = buf[:0]
					if block {
						for i := 0; i < n; i += 512 {
							if buf, _, err = mb.AppendCopyRows(buf[:0], i, min(n, i+512), nil); err != nil {
								b.Fatal(err)
							}
						}
						continue
					}
					for i := range n {
						buf, _ = mb.AppendCopyRow(buf, i)
						if len(buf) > 64<<10 {
							buf = buf[:0]
						}
					}
				}
				// CPU, not wall time: on a shared machine the wall clock
				// counts the time other processes had the cores.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/row")
			})
		}
		rec.Release()
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
