// Package synth writes deterministic, Databento-like DBN v3 data sets with
// hdi's own encoder: the demo's ES and NQ futures across a quarterly roll,
// and arbitrarily long trade streams for benchmarks. The same seed always
// gives the same bytes.
package synth

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// Dataset is the dataset code the synthetic files claim.
const Dataset = "GLBX.MDP3"

const publisher = 1 // GLBX.MDP3 on Databento

// Contract is one synthetic futures contract.
type Contract struct {
	ID        uint32
	Raw       string // e.g. ESH4
	Root      string // e.g. ES
	Expiry    time.Time
	BasePrice int64 // fixed-point 1e-9
	Tick      int64 // fixed-point 1e-9
}

// Demo describes the demo data set: ES and NQ, the March 2024 contracts
// rolling to June on 2024-03-15 (the March expiry), over two weeks. Its
// definitions come as Databento delivers a request for ES.FUT and NQ.FUT
// with stype_in parent (every contract of the root, with parent mappings);
// the market data as a request for ES.c.0 and NQ.c.0 (continuous mappings).
type Demo struct {
	Start, End     time.Time // days [Start, End)
	TradesPerMin   int
	Contracts      []Contract
	Roll           time.Time // ES.c.0 and NQ.c.0 switch to the next contract on this date
	ContinuousSyms []string
}

const e9 = int64(1_000_000_000)

// DefaultDemo is the data set `make demo` loads. ESH4 has instrument id 5482,
// the id the README shows: ids are unique only per dataset and day, and in
// Databento's own samples 5482 is ESH1 in December 2020.
func DefaultDemo() Demo {
	exp := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 13, 30, 0, 0, time.UTC) }
	return Demo{
		Start:        time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC),
		End:          time.Date(2024, 3, 23, 0, 0, 0, 0, time.UTC),
		TradesPerMin: 2,
		Roll:         time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC),
		Contracts: []Contract{
			{ID: 5482, Raw: "ESH4", Root: "ES", Expiry: exp(2024, 3, 15), BasePrice: 5100 * e9, Tick: e9 / 4},
			{ID: 1002, Raw: "ESM4", Root: "ES", Expiry: exp(2024, 6, 21), BasePrice: 5160 * e9, Tick: e9 / 4},
			{ID: 2001, Raw: "NQH4", Root: "NQ", Expiry: exp(2024, 3, 15), BasePrice: 18000 * e9, Tick: e9 / 4},
			{ID: 2002, Raw: "NQM4", Root: "NQ", Expiry: exp(2024, 6, 21), BasePrice: 18200 * e9, Tick: e9 / 4},
		},
		ContinuousSyms: []string{"ES.c.0", "NQ.c.0"},
	}
}

// tradingMinutes lists the minutes of a CME Globex day: 00:00-21:00 and
// 22:00-24:00 UTC on weekdays (a simplified calendar).
func tradingMinutes(day time.Time) []time.Time {
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return nil
	}
	var out []time.Time
	for m := 0; m < 24*60; m++ {
		if m >= 21*60 && m < 22*60 {
			continue // daily maintenance break
		}
		out = append(out, day.Add(time.Duration(m)*time.Minute))
	}
	return out
}

// trade is one synthetic trade before encoding.
type trade struct {
	c     *Contract
	ts    time.Time
	price int64
	size  uint32
	side  byte
	seq   uint32
}

// trades generates the data set's trades in time order per contract.
func (d Demo) trades(fn func(trade) error) error {
	rng := rand.New(rand.NewPCG(42, 2024))
	price := map[uint32]int64{}
	for i := range d.Contracts {
		price[d.Contracts[i].ID] = d.Contracts[i].BasePrice
	}
	seq := uint32(1_000_000)
	for day := d.Start; day.Before(d.End); day = day.AddDate(0, 0, 1) {
		for _, minute := range tradingMinutes(day) {
			for k := 0; k < d.TradesPerMin; k++ { // in time order across contracts
				for i := range d.Contracts {
					c := &d.Contracts[i]
					if !minute.Before(c.Expiry) {
						continue // expired
					}
					step := int64(rng.IntN(5)-2) * c.Tick
					price[c.ID] += step
					seq++
					t := trade{c: c, ts: minute.Add(time.Duration(k*(60/d.TradesPerMin))*time.Second + time.Duration(rng.IntN(1_000_000))),
						price: price[c.ID], size: uint32(1 + rng.IntN(20)), side: "AB"[rng.IntN(2)], seq: seq}
					if err := fn(t); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// metadata builds the DBN metadata of one demo market data file: the
// continuous symbols requested, mapped to each contract's id over its dates.
func (d Demo) metadata(schema dbn.Schema) *dbn.Metadata {
	m := d.header(schema, dbn.STypeContinuous, d.ContinuousSyms)
	for _, sym := range d.ContinuousSyms {
		root := sym[:len(sym)-len(".c.0")]
		var front, next *Contract
		for i := range d.Contracts {
			c := &d.Contracts[i]
			if c.Root != root {
				continue
			}
			if front == nil || c.Expiry.Before(front.Expiry) {
				front, next = c, front
			} else if next == nil || c.Expiry.Before(next.Expiry) {
				next = c
			}
		}
		sm := dbn.SymbolMapping{RawSymbol: sym, Intervals: []dbn.MappingInterval{
			{StartDate: dbn.DateOf(d.Start), EndDate: dbn.DateOf(d.Roll), Symbol: fmt.Sprint(front.ID)},
		}}
		if next != nil {
			sm.Intervals = append(sm.Intervals, dbn.MappingInterval{StartDate: dbn.DateOf(d.Roll), EndDate: dbn.DateOf(d.End), Symbol: fmt.Sprint(next.ID)})
		}
		m.Mappings = append(m.Mappings, sm)
	}
	return m
}

// parentMetadata builds the DBN metadata of a request for the roots' parent
// symbols (ES.FUT): each parent maps to every contract of its root, an
// interval per contract over the dates it is listed in the range (through
// its expiry day).
func (d Demo) parentMetadata(schema dbn.Schema) *dbn.Metadata {
	var parents []string
	for _, c := range d.Contracts {
		if p := c.Root + ".FUT"; !slices.Contains(parents, p) {
			parents = append(parents, p)
		}
	}
	m := d.header(schema, dbn.STypeParent, parents)
	for _, p := range parents {
		sm := dbn.SymbolMapping{RawSymbol: p}
		for _, c := range d.Contracts {
			end := c.Expiry.Truncate(24*time.Hour).AddDate(0, 0, 1)
			if d.End.Before(end) {
				end = d.End
			}
			if c.Root+".FUT" == p && d.Start.Before(end) {
				sm.Intervals = append(sm.Intervals, dbn.MappingInterval{StartDate: dbn.DateOf(d.Start), EndDate: dbn.DateOf(end), Symbol: fmt.Sprint(c.ID)})
			}
		}
		m.Mappings = append(m.Mappings, sm)
	}
	return m
}

// header is the metadata of a request for symbols in stype_in over the demo's
// range, without mappings.
func (d Demo) header(schema dbn.Schema, stypeIn dbn.SType, symbols []string) *dbn.Metadata {
	return &dbn.Metadata{
		Version: 3, Dataset: Dataset, Schema: schema,
		Start: uint64(d.Start.UnixNano()), End: uint64(d.End.UnixNano()),
		STypeIn: stypeIn, STypeOut: dbn.STypeInstrumentID,
		SymbolCstrLen: dbn.SymbolCstrLen, Symbols: symbols,
	}
}

// WriteDemo writes the demo data set into dir as DBN v3 zstd files, one per
// schema (trades, ohlcv-1m, ohlcv-1d, definition), and returns their paths.
func WriteDemo(dir string, d Demo) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(schema dbn.Schema, fill func(*dbn.Encoder) error) error {
		meta := d.metadata(schema)
		if schema == dbn.SchemaDefinition {
			meta = d.parentMetadata(schema)
		}
		p := filepath.Join(dir, fmt.Sprintf("demo.%s.dbn.zst", schema))
		if err := writeFile(p, meta, true, fill); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
		return nil
	}
	if err := write(dbn.SchemaDefinition, d.writeDefinitions); err != nil {
		return nil, err
	}
	if err := write(dbn.SchemaTrades, func(e *dbn.Encoder) error {
		return d.trades(func(t trade) error { return e.Encode(tradeMsg(t)) })
	}); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		schema dbn.Schema
		width  time.Duration
	}{{dbn.SchemaOhlcv1M, time.Minute}, {dbn.SchemaOhlcv1D, 24 * time.Hour}} {
		if err := write(b.schema, func(e *dbn.Encoder) error { return d.writeBars(e, b.schema, b.width) }); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// writeFile writes one DBN file: meta, then whatever fill encodes.
func writeFile(path string, meta *dbn.Metadata, compress bool, fill func(*dbn.Encoder) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc, err := dbn.NewEncoder(f, meta, &dbn.EncoderOptions{Zstd: compress})
	if err != nil {
		f.Close()
		return err
	}
	if err := fill(enc); err != nil {
		f.Close()
		return err
	}
	if err := enc.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func tradeMsg(t trade) *dbn.TradeMsg {
	ts := uint64(t.ts.UnixNano())
	m := &dbn.TradeMsg{Price: t.price, Size: t.size, Action: 'T', Side: t.side, Flags: 0x81, TsRecv: ts + 15_000, TsInDelta: 12_345, Sequence: t.seq}
	m.RType, m.PublisherID, m.InstrumentID, m.TsEvent = dbn.RTypeMbp0, publisher, t.c.ID, ts
	return m
}

func (d Demo) writeDefinitions(e *dbn.Encoder) error {
	for _, c := range d.Contracts {
		m := dbn.NewInstrumentDefMsg()
		ts := uint64(d.Start.Add(-2 * time.Hour).UnixNano())
		m.RType, m.PublisherID, m.InstrumentID, m.TsEvent, m.TsRecv = dbn.RTypeInstrumentDef, publisher, c.ID, ts, ts+1000
		m.MinPriceIncrement, m.DisplayFactor = c.Tick, e9
		m.Expiration, m.Activation = uint64(c.Expiry.UnixNano()), uint64(c.Expiry.AddDate(0, -3, 0).UnixNano())
		m.UnitOfMeasureQty = 50 * e9
		m.ContractMultiplier = 50
		m.MaturityYear = uint16(c.Expiry.Year())
		m.InstrumentClass = 'F'
		m.SecurityUpdateAction = 'A'
		dbn.SetCString(m.RawSymbol[:], c.Raw)
		dbn.SetCString(m.Asset[:], c.Root)
		dbn.SetCString(m.Group[:], c.Root)
		dbn.SetCString(m.Exchange[:], "XCME")
		dbn.SetCString(m.Currency[:], "USD")
		dbn.SetCString(m.SecurityType[:], "FUT")
		dbn.SetCString(m.UnitOfMeasure[:], "IPNT")
		if err := e.Encode(m); err != nil {
			return err
		}
	}
	return nil
}

// writeBars aggregates the trades into bars of the given width.
func (d Demo) writeBars(e *dbn.Encoder, schema dbn.Schema, width time.Duration) error {
	rtype, ok := schema.RType()
	if !ok {
		return fmt.Errorf("schema %s has no rtype", schema)
	}
	type key struct {
		id    uint32
		start int64
	}
	bars := map[key]*dbn.OhlcvMsg{}
	var order []key
	err := d.trades(func(t trade) error {
		k := key{t.c.ID, t.ts.Truncate(width).UnixNano()}
		b := bars[k]
		if b == nil {
			b = &dbn.OhlcvMsg{Open: t.price, High: t.price, Low: t.price}
			b.RType, b.PublisherID, b.InstrumentID, b.TsEvent = rtype, publisher, t.c.ID, uint64(k.start)
			bars[k] = b
			order = append(order, k)
		}
		b.High, b.Low, b.Close = max(b.High, t.price), min(b.Low, t.price), t.price
		b.Volume += uint64(t.size)
		return nil
	})
	if err != nil {
		return err
	}
	// DBN files are in time order; a stable sort by start keeps contracts apart.
	slices.SortStableFunc(order, func(a, b key) int {
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, k := range order {
		if err := e.Encode(bars[k]); err != nil {
			return err
		}
	}
	return nil
}

// WriteTrades writes n trades of two instruments as one DBN v3 file (zstd
// when compress is set), in time order, for benchmarks. Memory use does not
// depend on n.
func WriteTrades(path string, n int, compress bool) error {
	start := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	c := []Contract{
		{ID: 1001, Raw: "ESH4", Root: "ES", BasePrice: 4800 * e9, Tick: e9 / 4},
		{ID: 2001, Raw: "NQH4", Root: "NQ", BasePrice: 16800 * e9, Tick: e9 / 4},
	}
	meta := &dbn.Metadata{Version: 3, Dataset: Dataset, Schema: dbn.SchemaTrades, Start: uint64(start.UnixNano()),
		End:     uint64(start.Add(time.Duration(n+1) * 2 * time.Millisecond).UnixNano()), // trades are at most 2 ms apart
		STypeIn: dbn.STypeRawSymbol, STypeOut: dbn.STypeInstrumentID, SymbolCstrLen: dbn.SymbolCstrLen,
		Symbols: []string{"ESH4", "NQH4"}}
	for _, ct := range c { // as Databento's files: each symbol's instrument per day
		meta.Mappings = append(meta.Mappings, dbn.SymbolMapping{RawSymbol: ct.Raw, Intervals: []dbn.MappingInterval{{
			StartDate: dbn.DateOf(start), EndDate: dbn.DateOf(time.Unix(0, int64(meta.End)).AddDate(0, 0, 1)), Symbol: fmt.Sprint(ct.ID)}}})
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc, err := dbn.NewEncoder(f, meta, &dbn.EncoderOptions{Zstd: compress})
	if err != nil {
		f.Close()
		return err
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	price := []int64{c[0].BasePrice, c[1].BasePrice}
	var m dbn.TradeMsg
	m.RType, m.PublisherID, m.Action, m.Flags, m.TsInDelta = dbn.RTypeMbp0, publisher, 'T', 0x81, 12_345
	ts := uint64(start.UnixNano())
	for i := 0; i < n; i++ {
		k := i & 1
		price[k] += int64(rng.IntN(5)-2) * c[k].Tick
		ts += uint64(1 + rng.IntN(2_000_000)) // up to 2 ms apart
		m.InstrumentID, m.Price, m.Size, m.Side = c[k].ID, price[k], uint32(1+rng.IntN(20)), "AB"[rng.IntN(2)]
		m.TsEvent, m.TsRecv, m.Sequence = ts, ts+15_000, uint32(i+1)
		if err := enc.Encode(&m); err != nil {
			f.Close()
			return err
		}
	}
	if err := enc.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
