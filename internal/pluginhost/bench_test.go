package pluginhost

import (
	"context"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// countSender counts rows and bytes of column data, keeping nothing.
type countSender struct {
	sdk.Collector
	rows, bytes atomic.Int64
}

func (s *countSender) Batch(_ string, rec arrow.RecordBatch) error {
	s.rows.Add(rec.NumRows())
	for _, col := range rec.Columns() {
		for _, buf := range col.Data().Buffers() {
			if buf != nil {
				s.bytes.Add(int64(buf.Len()))
			}
		}
	}
	return nil
}

// hostCPU is this process's CPU time (user + system): the host's side of a
// fetch, the plugin's being another process's.
func hostCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFetchTrades streams 10M trades-like rows (46 bytes of column data
// a row) from the test plugin binary to the host, at several batch sizes.
// Run: go test -run '^$' -bench FetchTrades -benchtime 1x ./internal/pluginhost/
func BenchmarkFetchTrades(b *testing.B) {
	const rows = 10_000_000
	for _, batch := range []int{1024, sdk.DefaultBatchRows, 65536} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			bb := setup(b, Options{})
			p := bb.open(b, "test")
			params := map[string]string{"rows": strconv.Itoa(rows), "batch": strconv.Itoa(batch)}
			var total, totalBytes int64
			b.ResetTimer()
			cpu0 := hostCPU()
			for range b.N {
				var s countSender
				err := p.Fetch(context.Background(), &sdk.FetchRequest{Job: job(params), Unit: sdk.Unit{Key: "bench"}}, &s)
				if err != nil {
					b.Fatal(err)
				}
				if s.rows.Load() != rows {
					b.Fatalf("%d rows, want %d", s.rows.Load(), rows)
				}
				total += s.rows.Load()
				totalBytes += s.bytes.Load()
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(total)/sec, "rows/s")
			b.ReportMetric(float64(totalBytes)/sec/1e6, "MB/s")
			b.ReportMetric(float64(hostCPU()-cpu0)/float64(total), "host-cpu-ns/row")
			b.ReportMetric(0, "ns/op")
		})
	}
}
