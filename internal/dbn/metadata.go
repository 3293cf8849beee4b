package dbn

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Metadata layout constants.
const (
	metadataPrefixLen   = 8 // "DBN", version byte, u32 length
	metadataFixedLen    = 100
	datasetCstrLen      = 16
	metadataReservedLen = 53
	metadataReservedV1  = 47
)

// Date is a calendar date, as used by symbol mapping intervals.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the UTC calendar date of t.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{y, m, d}
}

// DateOfNanos returns the UTC calendar date of a nanosecond UNIX timestamp.
func DateOfNanos(ns uint64) Date {
	days := int64(ns / (86400 * 1e9))
	return DateOf(time.Unix(days*86400, 0))
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// DateFromYYYYMMDD converts the DBN integer form (e.g. 20201228) to a Date,
// rejecting impossible dates.
func DateFromYYYYMMDD(v uint32) (Date, error) {
	d := Date{int(v / 10000), time.Month(v / 100 % 100), int(v % 100)}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || DateOf(d.Time()) != d {
		return Date{}, fmt.Errorf("invalid date %d", v)
	}
	return d, nil
}

// YYYYMMDD returns the DBN integer form of d.
func (d Date) YYYYMMDD() uint32 { return uint32(d.Year*10000 + int(d.Month)*100 + d.Day) }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String returns d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.YYYYMMDD() < e.YYYYMMDD() }

// AddDays returns d plus n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// MappingInterval says that, from StartDate (inclusive) to EndDate
// (exclusive), the mapping's raw symbol resolved to Symbol.
type MappingInterval struct {
	StartDate Date
	EndDate   Date
	Symbol    string
}

// SymbolMapping holds the intervals of one requested symbol.
type SymbolMapping struct {
	RawSymbol string
	Intervals []MappingInterval
}

// Metadata is the header of a DBN stream. Decoded metadata of any version is
// presented in v3 form; Version keeps the version of the input.
type Metadata struct {
	// Version is the DBN version of the input (1, 2 or 3); the encoder
	// always writes 3.
	Version uint8
	// Dataset is the dataset code, e.g. "GLBX.MDP3".
	Dataset string
	// Schema is the schema of the records, SchemaNone for mixed streams.
	Schema Schema
	// Start is the query start, nanoseconds since the UNIX epoch.
	Start uint64
	// End is the exclusive query end, UndefTimestamp if none.
	End uint64
	// Limit is the record limit of the query, 0 for none.
	Limit uint64
	// STypeIn is the input symbology, STypeNone when mixed.
	STypeIn SType
	// STypeOut is the output symbology.
	STypeOut SType
	// TsOut reports whether every record is followed by an 8-byte ts_out.
	TsOut bool
	// SymbolCstrLen is the symbol length of the input (22 in v1, else 71).
	SymbolCstrLen int
	// Symbols are the requested symbols.
	Symbols []string
	// Partial are symbols that resolved for only part of the range.
	Partial []string
	// NotFound are symbols that did not resolve.
	NotFound []string
	// Mappings are the symbol mappings with their date intervals.
	Mappings []SymbolMapping
}

type metaDecoder struct {
	b    []byte
	pos  int
	base int64 // stream offset of b[0]
	err  error
}

func (d *metaDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Offset: d.base + int64(d.pos), Kind: ErrCorruptMetadata, Msg: fmt.Sprintf(format, args...)}
	}
}

func (d *metaDecoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.pos < n {
		d.fail("metadata ends inside %s: need %d bytes, %d left", what, n, len(d.b)-d.pos)
		return false
	}
	return true
}

func (d *metaDecoder) u32(what string) uint32 {
	if !d.need(4, what) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.pos:])
	d.pos += 4
	return v
}

func (d *metaDecoder) cstr(n int, what string) string {
	if !d.need(n, what) {
		return ""
	}
	s := CString(d.b[d.pos : d.pos+n])
	d.pos += n
	return s
}

func (d *metaDecoder) cstrs(n int, what string) []string {
	count := d.u32(what + " count")
	if d.err != nil {
		return nil
	}
	if uint64(count)*uint64(n) > uint64(len(d.b)-d.pos) {
		d.fail("%s count %d needs %d bytes, %d left", what, count, uint64(count)*uint64(n), len(d.b)-d.pos)
		return nil
	}
	out := make([]string, 0, count)
	for range count {
		out = append(out, d.cstr(n, what))
	}
	return out
}

// decodeMetadata parses the metadata body (after the 8-byte prefix) of the
// given version; base is the stream offset of body[0], for error messages.
func decodeMetadata(body []byte, version uint8, base int64) (*Metadata, error) {
	d := &metaDecoder{b: body, base: base}
	m := &Metadata{Version: version}
	if !d.need(metadataFixedLen, "the fixed metadata fields") {
		return nil, d.err
	}
	m.Dataset = CString(body[:datasetCstrLen])
	d.pos = datasetCstrLen
	m.Schema = Schema(binary.LittleEndian.Uint16(body[d.pos:]))
	if !m.Schema.Valid() && m.Schema != SchemaNone {
		d.fail("unknown schema %d", uint16(m.Schema))
		return nil, d.err
	}
	d.pos += 2
	m.Start = binary.LittleEndian.Uint64(body[d.pos:])
	m.End = binary.LittleEndian.Uint64(body[d.pos+8:])
	m.Limit = binary.LittleEndian.Uint64(body[d.pos+16:])
	d.pos += 24
	if version == 1 {
		d.pos += 8 // deprecated record_count
	}
	m.STypeIn = SType(body[d.pos])
	if !m.STypeIn.Valid() && m.STypeIn != STypeNone {
		d.fail("unknown stype_in %d", body[d.pos])
		return nil, d.err
	}
	m.STypeOut = SType(body[d.pos+1])
	if !m.STypeOut.Valid() {
		d.fail("unknown stype_out %d", body[d.pos+1])
		return nil, d.err
	}
	m.TsOut = body[d.pos+2] != 0
	d.pos += 3
	if version == 1 {
		m.SymbolCstrLen = SymbolCstrLenV1
		d.pos += metadataReservedV1
	} else {
		m.SymbolCstrLen = int(binary.LittleEndian.Uint16(body[d.pos:]))
		if m.SymbolCstrLen == 0 {
			d.fail("symbol_cstr_len is 0")
			return nil, d.err
		}
		d.pos += 2 + metadataReservedLen
	}
	if sdl := d.u32("schema_definition_length"); sdl != 0 && d.err == nil {
		d.pos -= 4
		d.fail("schema definitions are not supported (schema_definition_length %d)", sdl)
	}
	n := m.SymbolCstrLen
	m.Symbols = d.cstrs(n, "symbols")
	m.Partial = d.cstrs(n, "partial")
	m.NotFound = d.cstrs(n, "not_found")
	count := d.u32("mappings count")
	if d.err == nil && uint64(count)*uint64(n+4) > uint64(len(body)-d.pos) {
		d.fail("mappings count %d does not fit in the %d bytes left", count, len(body)-d.pos)
	}
	if d.err != nil {
		return nil, d.err
	}
	m.Mappings = make([]SymbolMapping, 0, count)
	for range count {
		sm := SymbolMapping{RawSymbol: d.cstr(n, "mapping raw_symbol")}
		ic := d.u32("mapping interval count")
		if d.err == nil && uint64(ic)*uint64(8+n) > uint64(len(body)-d.pos) {
			d.fail("interval count %d of mapping %q does not fit in the %d bytes left", ic, sm.RawSymbol, len(body)-d.pos)
		}
		if d.err != nil {
			return nil, d.err
		}
		sm.Intervals = make([]MappingInterval, 0, ic)
		for range ic {
			var iv MappingInterval
			for _, p := range []*Date{&iv.StartDate, &iv.EndDate} {
				raw := d.u32("interval date")
				if d.err != nil {
					return nil, d.err
				}
				dt, err := DateFromYYYYMMDD(raw)
				if err != nil {
					d.pos -= 4
					d.fail("mapping %q: %v", sm.RawSymbol, err)
					return nil, d.err
				}
				*p = dt
			}
			iv.Symbol = d.cstr(n, "interval symbol")
			sm.Intervals = append(sm.Intervals, iv)
		}
		m.Mappings = append(m.Mappings, sm)
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// AppendEncoded appends the DBN v3 encoding of m (prefix included) to dst.
// Symbols longer than 70 bytes are truncated.
func (m *Metadata) AppendEncoded(dst []byte) []byte { return appendMetadata(dst, m, Version) }

// appendMetadata encodes m as DBN version v (1, 2 or 3; v1 and v2 exist for
// tests that need old-version input).
func appendMetadata(dst []byte, m *Metadata, v uint8) []byte {
	n := SymbolCstrLen
	if v == 1 {
		n = SymbolCstrLenV1
	}
	start := len(dst)
	dst = append(dst, 'D', 'B', 'N', v, 0, 0, 0, 0)
	var ds [datasetCstrLen]byte
	SetCString(ds[:], m.Dataset)
	dst = append(dst, ds[:]...)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(m.Schema))
	dst = binary.LittleEndian.AppendUint64(dst, m.Start)
	dst = binary.LittleEndian.AppendUint64(dst, m.End)
	dst = binary.LittleEndian.AppendUint64(dst, m.Limit)
	if v == 1 {
		dst = binary.LittleEndian.AppendUint64(dst, ^uint64(0))
	}
	ts := byte(0)
	if m.TsOut {
		ts = 1
	}
	dst = append(dst, byte(m.STypeIn), byte(m.STypeOut), ts)
	if v == 1 {
		dst = append(dst, make([]byte, metadataReservedV1)...)
	} else {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
		dst = append(dst, make([]byte, metadataReservedLen)...)
	}
	dst = binary.LittleEndian.AppendUint32(dst, 0) // schema_definition_length
	sym := make([]byte, n)
	appendSym := func(s string) {
		SetCString(sym, s)
		dst = append(dst, sym...)
	}
	for _, list := range [][]string{m.Symbols, m.Partial, m.NotFound} {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(list)))
		for _, s := range list {
			appendSym(s)
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(m.Mappings)))
	for _, sm := range m.Mappings {
		appendSym(sm.RawSymbol)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(sm.Intervals)))
		for _, iv := range sm.Intervals {
			dst = binary.LittleEndian.AppendUint32(dst, iv.StartDate.YYYYMMDD())
			dst = binary.LittleEndian.AppendUint32(dst, iv.EndDate.YYYYMMDD())
			appendSym(iv.Symbol)
		}
	}
	if v >= 3 {
		for (len(dst)-start)%8 != 0 {
			dst = append(dst, 0)
		}
	}
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(len(dst)-start-metadataPrefixLen))
	return dst
}
