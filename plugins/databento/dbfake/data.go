package dbfake

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// Instrument is a listed instrument of a fake dataset.
type Instrument struct {
	ID        uint32
	RawSymbol string // e.g. ESH4
	Parent    string // e.g. ES.FUT (stype parent)
}

// Roll says that a continuous symbol points at instrument ID from date From
// (inclusive) until the next roll.
type Roll struct {
	From dbn.Date
	ID   uint32
}

// Dataset is the in-memory content of one fake dataset.
type Dataset struct {
	Code        string
	Instruments []Instrument
	// Continuous maps a continuous symbol (ES.c.0) to its rolls, sorted.
	Continuous map[string][]Roll
	// Records holds encoded v3 records by schema, sorted by index time.
	Records map[dbn.Schema][][]byte
}

// NewDataset returns an empty dataset.
func NewDataset(code string) *Dataset {
	return &Dataset{Code: code, Continuous: map[string][]Roll{}, Records: map[dbn.Schema][][]byte{}}
}

// Add appends encoded v3 records (with their length byte set) of schema s.
func (d *Dataset) Add(s dbn.Schema, recs ...[]byte) { d.Records[s] = append(d.Records[s], recs...) }

// AddRecord encodes and appends typed records.
func (d *Dataset) AddRecord(s dbn.Schema, recs ...dbn.Record) {
	for _, r := range recs {
		b := make([]byte, r.EncodedLen())
		r.Encode(b)
		b[0] = uint8(len(b) / dbn.LengthMultiplier)
		d.Add(s, b)
	}
}

// GenOptions describes a deterministic data set for Generate.
type GenOptions struct {
	Dataset string   // default GLBX.MDP3
	Start   dbn.Date // first day
	Days    int      // number of days (default 3)
	// PerDay is the number of records per instrument per day for tick
	// schemas (default 10); bars follow their interval, capped at PerDay.
	PerDay int
	// Schemas to generate; nil means every schema.
	Schemas []dbn.Schema
	// Futures are the roots of futures listed (default ES): each has its
	// March and June 2024 contracts (ROOTH4, ROOTM4; ids 1001+10i and
	// 1002+10i), the parent ROOT.FUT and the continuous ROOT.c.0 rolling
	// from H4 to M4 on the middle day.
	Futures []string
	// Equities are the raw symbols of equities listed (default AAPL; ids
	// 2001+i).
	Equities []string
}

// indexTs is the index timestamp of a record (ts_recv when defined).
func indexTs(rec []byte) uint64 {
	rt := dbn.LookupRType(dbn.RType(rec[1]))
	ts := binary.LittleEndian.Uint64(rec[rt.IndexTsOffset:])
	if ts == dbn.UndefTimestamp {
		ts = binary.LittleEndian.Uint64(rec[8:])
	}
	return ts
}

// Generate builds a deterministic dataset: by default two ES futures (ESH4
// id 1001, ESM4 id 1002, parent ES.FUT) and one equity-like symbol (AAPL id
// 2001), the continuous ES.c.0 rolling from ESH4 to ESM4 on the middle day
// (GenOptions.Futures and Equities list others), and
// records of every requested schema: each field filled from the field
// descriptors (prices around 100.25, sizes, sides 'A'/'B', actions 'T',
// raw_symbol on definitions), PerDay records per instrument per day.
func Generate(o GenOptions) *Dataset {
	if o.Dataset == "" {
		o.Dataset = "GLBX.MDP3"
	}
	if o.Days <= 0 {
		o.Days = 3
	}
	if o.PerDay <= 0 {
		o.PerDay = 10
	}
	if o.Start == (dbn.Date{}) {
		o.Start = dbn.Date{Year: 2024, Month: time.January, Day: 2}
	}
	if o.Schemas == nil {
		o.Schemas = dbn.Schemas()
	}
	if o.Futures == nil {
		o.Futures = []string{"ES"}
	}
	if o.Equities == nil {
		o.Equities = []string{"AAPL"}
	}
	d := NewDataset(o.Dataset)
	for i, root := range o.Futures {
		h, m := uint32(1001+10*i), uint32(1002+10*i)
		d.Instruments = append(d.Instruments, Instrument{h, root + "H4", root + ".FUT"}, Instrument{m, root + "M4", root + ".FUT"})
		d.Continuous[root+".c.0"] = []Roll{{From: o.Start, ID: h}, {From: o.Start.AddDays(o.Days / 2), ID: m}}
	}
	for i, sym := range o.Equities {
		d.Instruments = append(d.Instruments, Instrument{uint32(2001 + i), sym, sym + ".EQ"})
	}
	for _, s := range o.Schemas {
		rt := s.RecordType()
		rtype, _ := s.RType()
		step := time.Duration(24*time.Hour) / time.Duration(o.PerDay)
		for day := range o.Days {
			base := o.Start.AddDays(day).Time()
			for k := range o.PerDay {
				for ii, in := range d.Instruments {
					ts := uint64(base.Add(time.Duration(k)*step + time.Duration(ii)*time.Millisecond).UnixNano())
					d.Add(s, fill(rt, rtype, in, ts, k+ii))
				}
			}
		}
	}
	return d
}

// fill makes one record of type rt with every field set deterministically.
func fill(rt *dbn.RecordType, rtype dbn.RType, in Instrument, ts uint64, k int) []byte {
	return fillInto(make([]byte, rt.Size), rt, rtype, in, ts, k)
}

// fillInto is fill writing into b (rt.Size bytes), which it returns.
func fillInto(b []byte, rt *dbn.RecordType, rtype dbn.RType, in Instrument, ts uint64, k int) []byte {
	clear(b)
	b[0] = uint8(rt.Size / dbn.LengthMultiplier)
	for i := range rt.Fields {
		f := &rt.Fields[i]
		var v uint64
		switch f.Kind {
		case dbn.KindTimestamp:
			v = ts
			if f.Name == "ts_recv" {
				v = ts + 1000
			}
		case dbn.KindPrice:
			v = uint64(100_250_000_000 + int64(k)*250_000_000)
		case dbn.KindChar:
			v = uint64("ABTN"[k%4])
			if f.Name == "side" {
				v = uint64("AB"[k%2])
			}
		case dbn.KindFlags:
			v = 0x80
		case dbn.KindCString:
			s := ""
			switch f.Name {
			case "raw_symbol":
				s = in.RawSymbol
			case "asset":
				s = in.Parent
			case "currency":
				s = "USD"
			case "exchange":
				s = "XCME"
			}
			copy(b[f.Offset:f.Offset+f.Size-1], s)
			continue
		default:
			v = uint64(k + 1)
		}
		put(b, f, v)
	}
	b[1] = uint8(rtype)
	binary.LittleEndian.PutUint16(b[2:], 1) // publisher_id
	binary.LittleEndian.PutUint32(b[4:], in.ID)
	return b
}

func put(b []byte, f *dbn.Field, v uint64) {
	switch f.Size {
	case 1:
		b[f.Offset] = uint8(v)
	case 2:
		binary.LittleEndian.PutUint16(b[f.Offset:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b[f.Offset:], uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b[f.Offset:], v)
	}
}

// instrument returns the instrument with id.
func (d *Dataset) instrument(id uint32) (Instrument, bool) {
	for _, in := range d.Instruments {
		if in.ID == id {
			return in, true
		}
	}
	return Instrument{}, false
}

// resolveOn returns the instrument IDs a symbol designates on date day.
func (d *Dataset) resolveOn(stypeIn dbn.SType, sym string, day dbn.Date) []uint32 {
	switch stypeIn {
	case dbn.STypeInstrumentID:
		id, err := strconv.ParseUint(sym, 10, 32)
		if err != nil {
			return nil
		}
		if _, ok := d.instrument(uint32(id)); ok {
			return []uint32{uint32(id)}
		}
	case dbn.STypeRawSymbol:
		for _, in := range d.Instruments {
			if in.RawSymbol == sym {
				return []uint32{in.ID}
			}
		}
	case dbn.STypeParent:
		var ids []uint32
		for _, in := range d.Instruments {
			if in.Parent == sym {
				ids = append(ids, in.ID)
			}
		}
		return ids
	case dbn.STypeContinuous:
		var id uint32
		for _, r := range d.Continuous[sym] {
			if !day.Before(r.From) {
				id = r.ID
			}
		}
		if id != 0 {
			return []uint32{id}
		}
	}
	return nil
}
