package load

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	migrations "github.com/hdi-dev/hdi/goose"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// tradesSchema is a Databento-like trades stream.
var tradesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts_recv", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64},
	{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8, Metadata: arrow.NewMetadata([]string{"hdi.kind"}, []string{"char"})},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "size", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "sequence", Type: arrow.PrimitiveTypes.Uint32},
}, nil)

const tradesDDL = `
CREATE TABLE %s (
    ts            timestamptz NOT NULL,
    ts_recv       bigint      NOT NULL,
    ts_event      bigint      NOT NULL,
    dataset       text        NOT NULL,
    instrument_id bigint      NOT NULL,
    side          char(1),
    price         bigint,
    size          bigint      NOT NULL,
    sequence      bigint      NOT NULL,
    PRIMARY KEY (dataset, instrument_id, ts_recv, sequence)
)`

var base = time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC)

// tradesBatch builds n rows for instrument inst, sequences seq0.., one per µs.
func tradesBatch(n int, inst uint32, seq0 uint32) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, tradesSchema)
	defer b.Release()
	for i := 0; i < n; i++ {
		ts := base.UnixNano() + int64(seq0+uint32(i))*1000 + 123
		b.Field(0).(*array.Int64Builder).Append(ts)
		b.Field(1).(*array.Int64Builder).Append(ts - 500)
		b.Field(2).(*array.Uint32Builder).Append(inst)
		b.Field(3).(*array.Uint8Builder).Append("ABN"[i%3])
		if i%7 == 3 {
			b.Field(4).AppendNull()
		} else {
			b.Field(4).(*array.Int64Builder).Append(4_500_250_000_000 + int64(i))
		}
		b.Field(5).(*array.Uint32Builder).Append(uint32(1 + i%100))
		b.Field(6).(*array.Uint32Builder).Append(seq0 + uint32(i))
	}
	return b.NewRecordBatch()
}

type bundle struct {
	pool  *pgxpool.Pool
	url   string
	runID int64
	plan  *mapping.Plan
}

func setup(t testing.TB, tables ...string) *bundle {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	m, err := migrate.Open(ctx, url, migrate.Options{FS: bookkeepingOnly(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	m.Close()
	pool := pgtest.Connect(t, url)
	bn := &bundle{pool: pool, url: url}
	if err := pool.QueryRow(ctx, `INSERT INTO runs (job) VALUES ('test') RETURNING run_id`).Scan(&bn.runID); err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		tables = []string{"trades"}
	}
	for _, tb := range tables {
		if _, err := pool.Exec(ctx, sprintf(tradesDDL, tb)); err != nil {
			t.Fatal(err)
		}
	}
	ti, err := mapping.IntrospectTable(ctx, pool, tables[0])
	if err != nil {
		t.Fatal(err)
	}
	bn.plan, err = mapping.NewPlan(jobspec.Mapping{}, mapping.Source{Schema: tradesSchema, TimeField: "ts_recv", Dataset: "XNAS.ITCH"}, ti)
	if err != nil {
		t.Fatal(err)
	}
	return bn
}

func (bn *bundle) unit(key string) UnitInfo {
	return UnitInfo{Key: key, RunID: bn.runID, Provider: "databento", Dataset: "XNAS.ITCH", Schema: "trades",
		Table: "trades", Symbols: []string{"AAPL"}, Start: base, End: base.Add(time.Hour)}
}

func (bn *bundle) apply(t testing.TB, rec arrow.RecordBatch) *mapping.Batch {
	t.Helper()
	b, err := bn.plan.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bookkeepingOnly is the migrations of the bookkeeping tables alone: the
// tests make their own target tables and do not depend on the market-data
// migrations.
func bookkeepingOnly(t testing.TB) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	for _, name := range []string{"00001_bookkeeping.sql", "00008_honest_counts.sql", "00011_coverage_daily.sql"} {
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &fstest.MapFile{Data: b}
	}
	return out
}
