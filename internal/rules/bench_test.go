package rules

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkDefaultsTrades64k checks a 64k-row trades batch with the default
// trades rules.
func BenchmarkDefaultsTrades64k(b *testing.B) {
	const n = 65536
	rb := array.NewRecordBuilder(memory.DefaultAllocator, trades)
	for i := 0; i < n; i++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(1e18) + int64(i)*1000)
		rb.Field(1).(*array.Uint32Builder).Append(uint32(i % 50))
		rb.Field(2).(*array.Uint8Builder).Append("ABN"[i%3])
		rb.Field(3).(*array.Int64Builder).Append(4_500_000_000_000 + int64(i))
		rb.Field(4).(*array.Uint32Builder).Append(uint32(i%100 + 1))
		rb.Field(5).(*array.StringBuilder).Append("AAPL")
	}
	rec := rb.NewRecordBatch()
	set, err := Compile(nil, trades, Options{Defaults: FromSDK(tradeDefaults)})
	if err != nil {
		b.Fatal(err)
	}
	c := set.NewUnit(time.Time{}, time.Time{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Check(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	_ = arrow.PrimitiveTypes.Int64
}
