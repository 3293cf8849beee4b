package dbprov

import (
	"bytes"
	"context"
	"testing"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// tradesDBN encodes n generated trades as DBN (uncompressed or zstd).
func tradesDBN(tb testing.TB, perDay int, zstd bool) ([]byte, int) {
	tb.Helper()
	ds := dbfake.Generate(dbfake.GenOptions{PerDay: perDay, Days: 1, Schemas: []dbn.Schema{dbn.SchemaTrades}})
	var buf bytes.Buffer
	enc, err := dbn.NewEncoder(&buf, &dbn.Metadata{Dataset: "GLBX.MDP3", Schema: dbn.SchemaTrades}, &dbn.EncoderOptions{Zstd: zstd})
	if err != nil {
		tb.Fatal(err)
	}
	recs := ds.Records[dbn.SchemaTrades]
	for _, r := range recs {
		if err := enc.WriteRecordBytes(r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), len(recs)
}

func benchTrades(b *testing.B, zstd bool) {
	data, n := tradesDBN(b, 100_000, zstd)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		rd, err := dbn.NewBytesReader(data)
		if err != nil {
			b.Fatal(err)
		}
		col := &sdk.Collector{Discard: true}
		e := newEmitter(col, dbn.SchemaTrades, sdk.DefaultBatchRows, "bench")
		if err := e.run(context.Background(), rd); err != nil {
			b.Fatal(err)
		}
		if err := e.flushAll(); err != nil {
			b.Fatal(err)
		}
		if col.TotalRows() != int64(n) {
			b.Fatalf("rows %d, want %d", col.TotalRows(), n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkTradesToArrow: DBN trades decoded into Arrow batches.
func BenchmarkTradesToArrow(b *testing.B) { benchTrades(b, false) }

// BenchmarkTradesZstdToArrow: the same from zstd, as the API serves it.
func BenchmarkTradesZstdToArrow(b *testing.B) { benchTrades(b, true) }

// TestBuilderNulls: undefined sentinels and zero chars become nulls.
func TestBuilderNulls(t *testing.T) {
	m := &dbn.TradeMsg{Price: dbn.UndefPrice, Size: 5, Side: 0, Action: 'T'}
	m.RecordHeader.RType = dbn.RTypeMbp0
	m.RecordHeader.TsEvent = 7
	m.TsRecv = dbn.UndefTimestamp
	buf := make([]byte, m.EncodedLen())
	m.Encode(buf)
	b := newRecordBuilder(dbn.SchemaTrades, 4)
	b.append(buf, 99, true)
	rec := b.batch()
	defer rec.Release()
	for _, name := range []string{"price", "side", "ts_recv"} {
		if !rec.Column(rec.Schema().FieldIndices(name)[0]).IsNull(0) {
			t.Errorf("%s not null", name)
		}
	}
	for _, name := range []string{"action", "size", "ts_event", "ts_out"} {
		if rec.Column(rec.Schema().FieldIndices(name)[0]).IsNull(0) {
			t.Errorf("%s null", name)
		}
	}
	for i := range rec.Schema().NumFields() {
		if _, ok := rec.Schema().Field(i).Metadata.GetValue(KindKey); !ok {
			t.Errorf("field %s has no %s", rec.Schema().Field(i).Name, KindKey)
		}
	}
}
