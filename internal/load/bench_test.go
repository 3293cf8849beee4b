package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
)

// BenchmarkLoad1M loads 1M trades-like rows (100 batches of 10k) through a
// unit (Arrow -> mapping -> COPY per batch in a savepoint -> ledger row),
// and the same rows with one bare pgx.CopyFrom(pgx.CopyFromRows(rows)) of
// prebuilt [][]any into an identical table with the same primary key.
//
//	HDI_TEST_DATABASE_URL=... go test -run '^$' -bench Load1M -benchtime 3x ./internal/load
func BenchmarkLoad1M(b *testing.B) {
	const batches, perBatch = 100, 10_000
	bn := setup(b, "trades", "trades_bare")
	ctx := context.Background()
	recs := make([]arrow.RecordBatch, batches)
	for i := range recs {
		recs[i] = tradesBatch(perBatch, uint32(i), 0)
	}
	// the bare rows: what a hand-written loader would COPY
	rows := make([][]any, 0, batches*perBatch)
	for _, rec := range recs {
		mb := bn.apply(b, rec)
		for i := 0; i < mb.Len(); i++ {
			vals := make([]any, len(bn.plan.Columns))
			if err := mb.Values(i, vals); err != nil {
				b.Fatal(err)
			}
			for j, v := range vals { // detach from the readers' slots
				switch x := v.(type) {
				case *int64:
					vals[j] = *x
				case *string:
					vals[j] = *x
				case *time.Time:
					vals[j] = *x
				}
			}
			rows = append(rows, vals)
		}
	}
	var ours, bare time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		if _, err := bn.pool.Exec(ctx, `TRUNCATE trades, trades_bare; DELETE FROM units`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		t0 := time.Now()
		u, err := BeginUnit(ctx, bn.pool, bn.unit(fmt.Sprint("bench-", n)))
		if err != nil {
			b.Fatal(err)
		}
		for _, rec := range recs {
			mb, err := bn.plan.Apply(rec)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := u.WriteBatch(ctx, mb, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := u.Commit(ctx, u.Counts()); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(t0)

		t0 = time.Now()
		if _, err := bn.pool.CopyFrom(ctx, pgx.Identifier{"trades_bare"}, bn.plan.Columns, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		bare += time.Since(t0)
	}
	total := float64(b.N * batches * perBatch)
	b.ReportMetric(total/ours.Seconds(), "hdi_rows/s")
	b.ReportMetric(total/bare.Seconds(), "bare_rows/s")
	b.ReportMetric(bare.Seconds()/ours.Seconds(), "ratio")
}
