package synth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hdi-dev/hdi/internal/dbn"
)

func TestDemoIsDeterministicAndConsistent(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pa, err := WriteDemo(a, DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	pb, err := WriteDemo(b, DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	for i := range pa {
		x, _ := os.ReadFile(pa[i])
		y, _ := os.ReadFile(pb[i])
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("%s differs between two runs", filepath.Base(pa[i]))
		}
	}

	// Daily volume per instrument equals the sum of its trades' sizes.
	volume := map[[2]uint64]uint64{} // (instrument, day) -> size
	r := open(t, filepath.Join(a, "demo.trades.dbn.zst"))
	var tr dbn.TradeMsg
	for r.Next() {
		if err := r.DecodeInto(&tr); err != nil {
			t.Fatal(err)
		}
		volume[[2]uint64{uint64(tr.InstrumentID), tr.TsEvent / 86_400_000_000_000}] += uint64(tr.Size)
	}
	meta := r.Metadata()
	if len(meta.Mappings) != 2 || meta.Mappings[0].RawSymbol != "ES.c.0" || len(meta.Mappings[0].Intervals) != 2 ||
		meta.Mappings[0].Intervals[0].Symbol != "5482" || meta.Mappings[0].Intervals[1].Symbol != "1002" ||
		meta.Mappings[0].Intervals[1].StartDate != (dbn.Date{Year: 2024, Month: 3, Day: 15}) {
		t.Fatalf("ES.c.0 must roll from 5482 to 1002 on 2024-03-15: %+v", meta.Mappings)
	}
	// The definitions come as a request by parent: ES.FUT maps to each ES
	// contract over the days it is listed (ESH4 through its expiry day).
	meta = open(t, filepath.Join(a, "demo.definition.dbn.zst")).Metadata()
	if got := fmt.Sprintf("%v %v %+v", meta.STypeIn, meta.Symbols, meta.Mappings); got != "parent [ES.FUT NQ.FUT] "+
		"[{RawSymbol:ES.FUT Intervals:[{StartDate:2024-03-11 EndDate:2024-03-16 Symbol:5482} {StartDate:2024-03-11 EndDate:2024-03-23 Symbol:1002}]} "+
		"{RawSymbol:NQ.FUT Intervals:[{StartDate:2024-03-11 EndDate:2024-03-16 Symbol:2001} {StartDate:2024-03-11 EndDate:2024-03-23 Symbol:2002}]}]" {
		t.Errorf("definition metadata: %s", got)
	}
	r = open(t, filepath.Join(a, "demo.ohlcv-1d.dbn.zst"))
	var bar dbn.OhlcvMsg
	n := 0
	for r.Next() {
		if err := r.DecodeInto(&bar); err != nil {
			t.Fatal(err)
		}
		n++
		if got, want := bar.Volume, volume[[2]uint64{uint64(bar.InstrumentID), bar.TsEvent / 86_400_000_000_000}]; got != want {
			t.Fatalf("instrument %d day bar volume %d, trades sum %d", bar.InstrumentID, got, want)
		}
		if bar.Low > bar.Open || bar.Open > bar.High || bar.Low > bar.Close || bar.Close > bar.High {
			t.Fatalf("inconsistent bar %+v", bar)
		}
	}
	if n != 30 { // 10 weekdays x 2 June contracts + 5 days x 2 March contracts
		t.Fatalf("%d daily bars, want 30", n)
	}
}

func TestWriteTradesCountsAndOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.dbn")
	if err := WriteTrades(p, 10_000, false); err != nil {
		t.Fatal(err)
	}
	r := open(t, p)
	var last uint64
	n := 0
	for r.Next() {
		ts := r.TsEvent()
		if ts < last {
			t.Fatal("trades must be in time order")
		}
		last = ts
		n++
	}
	if n != 10_000 || last >= r.Metadata().End {
		t.Fatalf("%d trades, last %d, metadata end %d", n, last, r.Metadata().End)
	}
}

func open(t *testing.T, path string) *dbn.Reader {
	t.Helper()
	r, err := dbn.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
