package synth

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// Bench schemas WriteBench can write.
var BenchSchemas = []dbn.Schema{dbn.SchemaTrades, dbn.SchemaOhlcv1M, dbn.SchemaMbp10}

// WriteBench writes n records of schema (trades, ohlcv-1m or mbp-10) as one
// DBN v3 file (zstd when compress is set), in time order, for benchmarks.
// The same arguments always give the same bytes; memory use does not depend
// on n, and every record is distinct under the target table's unique key.
func WriteBench(path string, schema dbn.Schema, n int, compress bool) error {
	switch schema {
	case dbn.SchemaTrades:
		return WriteTrades(path, n, compress)
	case dbn.SchemaOhlcv1M:
		return WriteOhlcv1M(path, n, compress)
	case dbn.SchemaMbp10:
		return WriteMbp10(path, n, compress)
	}
	return fmt.Errorf("synth: no benchmark generator for schema %s (have trades, ohlcv-1m, mbp-10)", schema)
}

// benchStart is where every benchmark file starts.
var benchStart = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)

// benchInstruments is the number of instruments of the bar files: one bar
// per instrument and minute.
const benchInstruments = 64

func benchMeta(schema dbn.Schema, symbols []string) *dbn.Metadata {
	return &dbn.Metadata{Version: 3, Dataset: Dataset, Schema: schema, Start: uint64(benchStart.UnixNano()),
		End: dbn.UndefTimestamp, STypeIn: dbn.STypeRawSymbol, STypeOut: dbn.STypeInstrumentID, SymbolCstrLen: dbn.SymbolCstrLen,
		Symbols: symbols}
}

// WriteOhlcv1M writes n one-minute bars of 64 instruments (one bar per
// instrument and minute, minutes in order) as one DBN v3 file.
func WriteOhlcv1M(path string, n int, compress bool) error {
	syms := make([]string, benchInstruments)
	for i := range syms {
		syms[i] = fmt.Sprintf("SYM%02d", i)
	}
	return writeFile(path, benchMeta(dbn.SchemaOhlcv1M, syms), compress, func(enc *dbn.Encoder) error {
		rng := rand.New(rand.NewPCG(11, uint64(n)))
		price := make([]int64, benchInstruments)
		for i := range price {
			price[i] = int64(100+i) * e9
		}
		var m dbn.OhlcvMsg
		m.RType, m.PublisherID = dbn.RTypeOhlcv1M, publisher
		for i := 0; i < n; i++ {
			k := i % benchInstruments
			minute := benchStart.Add(time.Duration(i/benchInstruments) * time.Minute)
			open := price[k]
			hi, lo := open+int64(rng.IntN(8))*e9/4, open-int64(rng.IntN(8))*e9/4
			price[k] = lo + int64(rng.IntN(int((hi-lo)/(e9/4))+1))*e9/4
			m.InstrumentID, m.TsEvent = uint32(10_000+k), uint64(minute.UnixNano())
			m.Open, m.High, m.Low, m.Close, m.Volume = open, hi, lo, price[k], uint64(1+rng.IntN(5000))
			if err := enc.Encode(&m); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteMbp10 writes n ten-level book updates of two instruments as one DBN
// v3 file: each update moves one level, the others stay.
func WriteMbp10(path string, n int, compress bool) error {
	return writeFile(path, benchMeta(dbn.SchemaMbp10, []string{"ESH4", "NQH4"}), compress, func(enc *dbn.Encoder) error {
		rng := rand.New(rand.NewPCG(13, uint64(n)))
		ids := []uint32{1001, 2001}
		mid := []int64{4800 * e9, 16800 * e9}
		tick := e9 / 4
		var books [2][10]dbn.BidAskPair
		for k := range books {
			for l := range books[k] {
				books[k][l] = dbn.BidAskPair{BidPx: mid[k] - int64(l+1)*tick, AskPx: mid[k] + int64(l+1)*tick,
					BidSz: uint32(10 + l), AskSz: uint32(11 + l), BidCt: uint32(1 + l), AskCt: uint32(2 + l)}
			}
		}
		var m dbn.Mbp10Msg
		m.RType, m.PublisherID, m.Flags, m.TsInDelta = dbn.RTypeMbp10, publisher, 0x80, 9_876
		ts := uint64(benchStart.UnixNano())
		for i := 0; i < n; i++ {
			k := i & 1
			lvl := rng.IntN(10)
			side := "AB"[rng.IntN(2)]
			sz := uint32(1 + rng.IntN(50))
			if side == 'B' {
				books[k][lvl].BidSz, books[k][lvl].BidCt = sz, uint32(1+rng.IntN(9))
				m.Price = books[k][lvl].BidPx
			} else {
				books[k][lvl].AskSz, books[k][lvl].AskCt = sz, uint32(1+rng.IntN(9))
				m.Price = books[k][lvl].AskPx
			}
			ts += uint64(1 + rng.IntN(500_000))
			m.InstrumentID, m.TsEvent, m.TsRecv, m.Sequence = ids[k], ts, ts+8_000, uint32(i+1)
			m.Action, m.Side, m.Depth, m.Size = 'M', side, uint8(lvl), sz
			m.Levels = books[k]
			if err := enc.Encode(&m); err != nil {
				return err
			}
		}
		return nil
	})
}
