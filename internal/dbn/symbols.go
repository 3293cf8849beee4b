package dbn

import "strconv"

// SymbolMap resolves an instrument_id at a point in time to a symbol, from
// the metadata's mappings (by UTC date of the record's index timestamp) and
// from symbol-mapping and definition records seen in the stream.
type SymbolMap struct {
	intervals map[uint32][]symInterval
	live      map[uint32]string
}

type symInterval struct {
	start, end uint32 // YYYYMMDD, end exclusive
	symbol     string
}

// NewSymbolMap builds a map from the metadata's symbol mappings. When
// stype_in is instrument_id the mapping's raw symbol is the ID and the
// interval symbol the text; otherwise the interval symbol is the ID.
func NewSymbolMap(m *Metadata) *SymbolMap {
	sm := &SymbolMap{intervals: map[uint32][]symInterval{}, live: map[uint32]string{}}
	if m == nil {
		return sm
	}
	for _, mp := range m.Mappings {
		for _, iv := range mp.Intervals {
			if iv.Symbol == "" {
				continue
			}
			idText, sym := iv.Symbol, mp.RawSymbol
			if m.STypeIn == STypeInstrumentID {
				idText, sym = mp.RawSymbol, iv.Symbol
			}
			id, err := strconv.ParseUint(idText, 10, 32)
			if err != nil {
				continue
			}
			sm.intervals[uint32(id)] = append(sm.intervals[uint32(id)], symInterval{iv.StartDate.YYYYMMDD(), iv.EndDate.YYYYMMDD(), sym})
		}
	}
	return sm
}

// Observe updates the point-in-time part of the map from a v3 record:
// symbol-mapping records map instrument_id to stype_out_symbol, definition
// records to raw_symbol.
func (sm *SymbolMap) Observe(rec []byte) {
	if len(rec) < HeaderSize {
		return
	}
	id := LookupRType(RTypeSymbolMapping)
	switch RType(rec[1]) {
	case RTypeSymbolMapping:
		if len(rec) >= id.Size {
			sm.live[headerInstrumentID(rec)] = string(id.Field("stype_out_symbol").CString(rec))
		}
	case RTypeInstrumentDef:
		def := LookupRType(RTypeInstrumentDef)
		if len(rec) >= def.Size {
			sm.live[headerInstrumentID(rec)] = string(def.Field("raw_symbol").CString(rec))
		}
	}
}

func headerInstrumentID(rec []byte) uint32 {
	return uint32(rec[4]) | uint32(rec[5])<<8 | uint32(rec[6])<<16 | uint32(rec[7])<<24
}

// Lookup returns the symbol of instrument id at nanosecond time ts (UTC
// date), preferring the metadata's dated mappings.
func (sm *SymbolMap) Lookup(id uint32, ts uint64) (string, bool) {
	if ivs := sm.intervals[id]; len(ivs) > 0 && ts != UndefTimestamp {
		d := DateOfNanos(ts).YYYYMMDD()
		for _, iv := range ivs {
			if d >= iv.start && d < iv.end {
				return iv.symbol, true
			}
		}
	}
	s, ok := sm.live[id]
	return s, ok
}

// LookupRecord resolves a v3 record's symbol by its instrument_id and index
// timestamp (ts_recv when the record has one and it is defined, else ts_event).
func (sm *SymbolMap) LookupRecord(rec []byte) (string, bool) {
	rt := LookupRType(RType(rec[1]))
	if rt == nil {
		return "", false
	}
	ts := readU64(rec, rt.IndexTsOffset)
	if ts == UndefTimestamp {
		ts = readU64(rec, 8)
	}
	return sm.Lookup(headerInstrumentID(rec), ts)
}

func readU64(b []byte, off int) uint64 {
	_ = b[off+7]
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[off+i])
	}
	return v
}
