package load

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/mapping"
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

// BenchmarkEncode1M is the host's CPU side of BenchmarkLoad1M without the
// server: 1M trades-like rows (100 batches of 10k) mapped and encoded in
// binary COPY format, with the checks of what each column holds, into
// io.Discard.
//
//	go test -run '^$' -bench Encode1M ./internal/load
func BenchmarkEncode1M(b *testing.B) {
	const batches, perBatch = 100, 10_000
	col := func(name string, oid uint32, notNull bool) mapping.ColumnInfo {
		return mapping.ColumnInfo{Name: name, Type: fmt.Sprint(oid), TypeOID: oid, NotNull: notNull}
	}
	ti := mapping.TableInfo{Schema: "public", Table: "trades", Columns: []mapping.ColumnInfo{
		col("ts", 1184, true), col("ts_recv", 20, true), col("ts_event", 20, true), col("dataset", 25, true),
		col("instrument_id", 20, true), col("side", 1042, false), col("price", 20, false), col("size", 20, true), col("sequence", 20, true),
	}}
	plan, err := mapping.NewPlan(jobspec.Mapping{}, mapping.Source{Schema: tradesSchema, TimeField: "ts_recv", Dataset: "XNAS.ITCH"}, ti)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]arrow.RecordBatch, batches)
	for i := range recs {
		recs[i] = tradesBatch(perBatch, uint32(i), 0)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, rec := range recs {
			mb, err := plan.Apply(rec)
			if err != nil {
				b.Fatal(err)
			}
			r := newCopyReader(mb, nil)
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			r.release()
		}
	}
	b.ReportMetric(float64(b.N*batches*perBatch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkTally1M is the coverage tally of 1M trades-like rows (100
// batches of 10k, 100 instruments), without the server.
//
//	go test -run '^$' -bench Tally1M ./internal/load
func BenchmarkTally1M(b *testing.B) {
	const batches, perBatch = 100, 10_000
	col := func(name string, oid uint32) mapping.ColumnInfo {
		return mapping.ColumnInfo{Name: name, Type: fmt.Sprint(oid), TypeOID: oid}
	}
	ti := mapping.TableInfo{Schema: "public", Table: "trades", Columns: []mapping.ColumnInfo{
		col("ts", 1184), col("dataset", 25), col("instrument_id", 20), col("price", 20),
	}}
	plan, err := mapping.NewPlan(jobspec.Mapping{Drop: []string{"ts_event", "side", "size", "sequence"}}, mapping.Source{Schema: tradesSchema, TimeField: "ts_recv", Dataset: "XNAS.ITCH"}, ti)
	if err != nil {
		b.Fatal(err)
	}
	var mbs []*mapping.Batch
	for i := range batches {
		mb, err := plan.Apply(tradesBatch(perBatch, uint32(i), 0))
		if err != nil {
			b.Fatal(err)
		}
		mbs = append(mbs, mb)
	}
	for b.Loop() {
		u := &UnitTx{cov: &coverage{counts: map[covKey]*covCount{}}}
		for _, mb := range mbs {
			u.tallyBatch(mb, nil)
		}
		if len(u.cov.counts) != batches {
			b.Fatalf("%d instrument days, want %d", len(u.cov.counts), batches)
		}
	}
	b.ReportMetric(float64(b.N*batches*perBatch)/b.Elapsed().Seconds(), "rows/s")
}
