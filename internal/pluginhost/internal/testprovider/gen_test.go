package main

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

type encodeSender struct {
	sdk.Collector
	buf []byte
}

func (s *encodeSender) Batch(_ string, rec arrow.RecordBatch) error {
	var err error
	s.buf, err = sdk.AppendBatch(s.buf[:0], rec)
	return err
}

// BenchmarkGenerate measures the plugin side alone: generating rows with
// typed builders and encoding them to Arrow IPC.
func BenchmarkGenerate(b *testing.B) {
	var s encodeSender
	w := sdk.NewBatchWriter(&s, "trades", TradesSchema, sdk.DefaultBatchRows)
	defer w.Release()
	g := newGen(w)
	b.ResetTimer()
	if err := g.rows(b.N); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
