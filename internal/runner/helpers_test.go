package runner_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// ticksSchema is the stream the fake provider sends.
var ticksSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts_recv", Type: arrow.PrimitiveTypes.Int64},
	{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "size", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8, Metadata: arrow.NewMetadata([]string{"hdi.kind"}, []string{"char"})},
}, nil)

const ticksTable = `CREATE TABLE ticks (
	dataset text NOT NULL, instrument_id bigint NOT NULL, ts timestamptz NOT NULL,
	ts_recv bigint NOT NULL, price bigint, size bigint NOT NULL, side text NOT NULL,
	CONSTRAINT ticks_key UNIQUE NULLS NOT DISTINCT (dataset, instrument_id, ts, ts_recv, price, size, side))`

const day = int64(86_400_000_000_000)

// fakeProvider plans one unit per day and sends rowsPerUnit ticks per unit
// in batches of batchRows. Hooks let tests break it.
type fakeProvider struct {
	days, rowsPerUnit, batchRows int
	start                        int64
	// price returns the price of row i of a unit (default 100e9 + i).
	price func(unit, i int) int64
	// failUnit, when >= 0, makes that unit fail after its first batch,
	// failures times.
	failUnit int
	failures int
	// onBatch is called after each batch is sent.
	onBatch  func(unit, batch int)
	rowError bool
	cost     float64
	// noRange plans units without a time range (like a file without an end).
	noRange bool

	mu      sync.Mutex
	fetches map[string]int
}

func newFake(days, rows int) *fakeProvider {
	return &fakeProvider{days: days, rowsPerUnit: rows, batchRows: 1000, start: 1_704_067_200_000_000_000, failUnit: -1, fetches: map[string]int{}}
}

func (f *fakeProvider) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{Name: "fake", Version: "1", Streams: []sdk.Stream{{Name: "ticks", Schema: ticksSchema, TimeField: "ts_recv"}}}, nil
}

func (f *fakeProvider) Check(context.Context, map[string]string) (*sdk.CheckResult, error) {
	return &sdk.CheckResult{}, nil
}

func (f *fakeProvider) Plan(_ context.Context, j *sdk.Job) (*sdk.Plan, error) {
	var p sdk.Plan
	for d := range f.days {
		s := f.start + int64(d)*day
		u := sdk.Unit{Key: fmt.Sprintf("fake:ticks:%d", d), Stream: "ticks", Dataset: j.Dataset, Start: s, End: s + day, Symbols: []string{"X"},
			EstimatedRows: sdk.Int64(int64(f.rowsPerUnit))}
		if f.cost > 0 {
			u.EstimatedCostUSD = sdk.Float64(f.cost)
		}
		if f.noRange {
			u.Start, u.End = 0, 0
		}
		p.Units = append(p.Units, u)
	}
	return &p, nil
}

func (f *fakeProvider) unitIndex(key string) int {
	var d int
	fmt.Sscanf(key, "fake:ticks:%d", &d)
	return d
}

func (f *fakeProvider) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	d := f.unitIndex(req.Unit.Key)
	f.mu.Lock()
	f.fetches[req.Unit.Key]++
	attempt := f.fetches[req.Unit.Key]
	f.mu.Unlock()
	if err := out.Mappings([]sdk.SymbolMapping{{Dataset: req.Unit.Dataset, StypeIn: "raw_symbol", InSymbol: "X", StypeOut: "instrument_id", OutSymbol: "7", StartDate: "2024-01-01", EndDate: "2024-02-01"}}); err != nil {
		return err
	}
	if f.rowError {
		if err := out.RowError(sdk.RowError{File: "f.csv", Line: 3, Message: "bad number", Raw: "x,y", Stream: "ticks"}); err != nil {
			return err
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, ticksSchema)
	defer b.Release()
	batch := 0
	for i := 0; i < f.rowsPerUnit; i++ {
		p := int64(100_000_000_000 + i)
		if f.price != nil {
			p = f.price(d, i)
		}
		b.Field(0).(*array.Int64Builder).Append(f.start + int64(d)*day + int64(i)*1000)
		b.Field(1).(*array.Uint32Builder).Append(7)
		b.Field(2).(*array.Int64Builder).Append(p)
		b.Field(3).(*array.Uint32Builder).Append(uint32(1 + i%5))
		b.Field(4).(*array.Uint8Builder).Append("AB"[i%2])
		if (i+1)%f.batchRows == 0 || i == f.rowsPerUnit-1 {
			rec := b.NewRecordBatch()
			err := out.Batch("ticks", rec)
			rec.Release()
			if err != nil {
				return err
			}
			if f.onBatch != nil {
				f.onBatch(d, batch)
			}
			batch++
			if d == f.failUnit && attempt <= f.failures {
				return sdk.Retryable(fmt.Errorf("provider stream cut after %d rows", i+1))
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// setup gives a migrated database with the ticks table.
func setup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Connect(t, pgtest.NewMigratedDB(t))
	if _, err := pool.Exec(ctx, ticksTable); err != nil {
		t.Fatal(err)
	}
	return pool
}

func tickJob() *jobspec.Job {
	j := &jobspec.Job{Name: "ticks-test", Provider: jobspec.Provider{Name: "fake"},
		Source: jobspec.Source{Dataset: "TEST.ONE", Schema: "ticks", Start: "2024-01-01", End: "2024-01-05"},
		Target: jobspec.Target{Table: "ticks"}, Concurrency: 2}
	j.ApplyDefaults()
	return j
}

func newRunner(pool *pgxpool.Pool, p sdk.Provider, force bool) *runner.Runner {
	return runner.New(runner.Options{Pool: pool, Force: force, MaxAttempts: 1,
		Open: func(context.Context, string) (sdk.Provider, error) { return p, nil }})
}

func run(t *testing.T, r *runner.Runner, job *jobspec.Job) (*runner.Summary, error) {
	t.Helper()
	p, err := r.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	return r.Run(context.Background(), p)
}
