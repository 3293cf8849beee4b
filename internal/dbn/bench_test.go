package dbn

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
)

const benchRecords = 10_000_000

var benchData = map[bool][]byte{}
var benchMu sync.Mutex

// tradesStream encodes n realistic-looking trades (plain or zstd).
func tradesStream(tb testing.TB, n int, zstdOn bool) []byte {
	benchMu.Lock()
	defer benchMu.Unlock()
	if d, ok := benchData[zstdOn]; ok && n == benchRecords {
		return d
	}
	meta := testMeta()
	meta.Schema = SchemaTrades
	var buf bytes.Buffer
	buf.Grow(n*48 + 256)
	enc, err := NewEncoder(&buf, meta, &EncoderOptions{Zstd: zstdOn})
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	m := TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0, PublisherID: 1, InstrumentID: 5482}, Action: 'T', Side: 'A', Flags: FlagLast}
	ts := uint64(1609160400000000000)
	price := int64(3720_250000000)
	for i := range n {
		ts += uint64(rng.IntN(1_000_000))
		price += int64(rng.IntN(5)-2) * 250_000_000
		m.TsEvent, m.TsRecv, m.Price = ts, ts+uint64(rng.IntN(100_000)), price
		m.Size = uint32(1 + rng.IntN(20))
		m.Sequence = uint32(i)
		m.TsInDelta = int32(rng.IntN(30000))
		if err := enc.Encode(&m); err != nil {
			tb.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		tb.Fatal(err)
	}
	if n == benchRecords {
		benchData[zstdOn] = buf.Bytes()
		if p := os.Getenv("HDI_DBN_BENCH_WRITE"); p != "" {
			_ = os.WriteFile(p+".dbn"+map[bool]string{true: ".zst"}[zstdOn], buf.Bytes(), 0o644)
		}
	}
	return buf.Bytes()
}

func benchDecode(b *testing.B, zstdOn bool) { benchDecodeWith(b, zstdOn, false) }

func benchDecodeWith(b *testing.B, zstdOn, inMemory bool) {
	data := tradesStream(b, benchRecords, zstdOn)
	b.SetBytes(int64(benchRecords * 48))
	b.ReportAllocs()
	total := 0
	var sum int64
	for b.Loop() {
		var r *Reader
		var err error
		if inMemory {
			r, err = NewBytesReader(data)
		} else {
			r, err = NewReader(bytes.NewReader(data))
		}
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			rec := r.RecordBytes()
			sum += int64(binary.LittleEndian.Uint64(rec[16:])) // price
			n++
		}
		if r.Err() != nil || n != benchRecords {
			b.Fatalf("%d records, %v", n, r.Err())
		}
		r.Close()
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	_ = sum
}

// BenchmarkDecodeTrades decodes 10M trades from memory, uncompressed.
func BenchmarkDecodeTrades(b *testing.B) { benchDecode(b, false) }

// BenchmarkDecodeTradesInMemory decodes the same bytes in place (NewBytesReader).
func BenchmarkDecodeTradesInMemory(b *testing.B) { benchDecodeWith(b, false, true) }

// BenchmarkDecodeTradesZstd decodes the same 10M trades, zstd-compressed.
func BenchmarkDecodeTradesZstd(b *testing.B) { benchDecode(b, true) }

// BenchmarkDecodeTradesTyped decodes each record into a TradeMsg as well.
func BenchmarkDecodeTradesTyped(b *testing.B) {
	data := tradesStream(b, benchRecords, false)
	b.ReportAllocs()
	total := 0
	var m TradeMsg
	for b.Loop() {
		r, _ := NewReader(bytes.NewReader(data))
		for r.Next() {
			_ = r.DecodeInto(&m)
			total++
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkEncodeTrades measures the encoder (plain).
func BenchmarkEncodeTrades(b *testing.B) {
	var buf bytes.Buffer
	m := TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0}}
	enc, _ := NewEncoder(&buf, testMeta(), nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if buf.Len() > 1<<26 {
			buf.Reset()
		}
		m.Price = int64(n)
		_ = enc.Encode(&m)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	_ = strconv.Itoa(n)
}
