package dbn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// WireType is the binary type of a field on the wire (always little-endian).
type WireType uint8

// Wire types of record fields.
const (
	WireU8 WireType = iota + 1
	WireU16
	WireU32
	WireU64
	WireI8
	WireI16
	WireI32
	WireI64
	WireChar    // one byte holding an ASCII character
	WireCString // NUL-padded string of Field.Size bytes
)

var wireNames = [...]string{"", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "char", "cstr"}

// String returns the wire type's short name, e.g. "u32" or "cstr".
func (w WireType) String() string {
	if int(w) < len(wireNames) {
		return wireNames[w]
	}
	return "wire(" + strconv.Itoa(int(w)) + ")"
}

// Signed reports whether the wire type is a signed integer.
func (w WireType) Signed() bool { return w >= WireI8 && w <= WireI64 }

// Kind is the meaning of a field's value.
type Kind uint8

// Field kinds.
const (
	KindInt       Kind = iota + 1 // a plain integer (counts, ids, codes)
	KindPrice                     // i64 fixed-point price, 1 unit = 1e-9
	KindTimestamp                 // u64 nanoseconds since the UNIX epoch (UTC)
	KindChar                      // one ASCII character, usually an enum code
	KindCString                   // a NUL-padded string
	KindFlags                     // a bit field
)

var kindNames = [...]string{"", "int", "price", "ts", "char", "cstr", "flags"}

// String returns the kind's short name as used in the struct tags.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Field describes one field of a v3 record: its Databento name, where it is,
// what it is and which value means "undefined". Fields of mbp levels are
// flattened as the reference CSV encoder does: bid_px_00, ask_px_00, ...
type Field struct {
	// Name is the Databento field name, e.g. "ts_event" or "bid_px_03".
	Name string
	// Wire is the binary type.
	Wire WireType
	// Size is the number of bytes (1, 2, 4, 8, or the c-string length).
	Size int
	// Offset is the byte offset from the start of the record (header included).
	Offset int
	// Kind is the semantic kind of the value.
	Kind Kind
	// HasUndef reports whether a sentinel value means "undefined" (null).
	HasUndef bool
	// Undef is the sentinel's raw bits, zero-extended (compare with Raw).
	Undef uint64
	// GoName is the dotted path of the Go struct field, e.g. "Levels[3].BidPx".
	GoName string
	// Index is the field's position in RecordType.Fields.
	Index int
}

// Raw returns the field's raw bits from a record, zero-extended to 64 bits.
// It returns 0 for c-strings. rec must be at least Offset+Size bytes long.
func (f *Field) Raw(rec []byte) uint64 {
	switch f.Size {
	case 1:
		return uint64(rec[f.Offset])
	case 2:
		return uint64(binary.LittleEndian.Uint16(rec[f.Offset:]))
	case 4:
		return uint64(binary.LittleEndian.Uint32(rec[f.Offset:]))
	case 8:
		if f.Wire == WireCString {
			return 0
		}
		return binary.LittleEndian.Uint64(rec[f.Offset:])
	}
	return 0
}

// Uint returns an unsigned field's value (or a signed one's raw bits).
func (f *Field) Uint(rec []byte) uint64 { return f.Raw(rec) }

// Int returns the field's value as int64, sign-extending signed wire types.
// A u64 above math.MaxInt64 wraps; use Uint for u64 fields.
func (f *Field) Int(rec []byte) int64 {
	raw := f.Raw(rec)
	switch f.Wire {
	case WireI8:
		return int64(int8(raw))
	case WireI16:
		return int64(int16(raw))
	case WireI32:
		return int64(int32(raw))
	}
	return int64(raw)
}

// IsUndef reports whether the field holds its undefined sentinel.
func (f *Field) IsUndef(rec []byte) bool {
	return f.HasUndef && f.Raw(rec) == f.Undef
}

// CString returns a c-string field's bytes up to the first NUL (no copy).
func (f *Field) CString(rec []byte) []byte {
	b := rec[f.Offset : f.Offset+f.Size]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// RecordType describes one v3 record type: its Go type, size, rtypes and
// fields in the reference output order.
type RecordType struct {
	// Name is the Go type name, e.g. "TradeMsg".
	Name string
	// RTypes are the record types stored with this layout.
	RTypes []RType
	// Size is the v3 record size in bytes, without ts_out.
	Size int
	// Fields lists the fields in the reference CSV/JSON column order
	// (header fields included, the length byte and reserved bytes excluded).
	Fields []Field
	// IndexTsOffset is the offset of the index timestamp (ts_recv when the
	// record has one, else ts_event), used to pick the date for symbology.
	IndexTsOffset int
	// GoType is the Go struct type.
	GoType reflect.Type

	byName  map[string]int
	ptrType reflect.Type
}

// New returns a new zero record of this type.
func (rt *RecordType) New() Record { return reflect.New(rt.GoType).Interface().(Record) }

// Field returns the field named name, or nil.
func (rt *RecordType) Field(name string) *Field {
	if i, ok := rt.byName[name]; ok {
		return &rt.Fields[i]
	}
	return nil
}

var (
	recordTypes       []*RecordType
	recordTypeByRType [256]*RecordType
	// minSizeV3 holds the v3 size for each known rtype, 0 for unknown ones.
	minSizeV3 [256]int
)

func init() {
	reg := func(v Record, rts ...RType) {
		rt := buildRecordType(reflect.TypeOf(v).Elem())
		rt.RTypes = rts
		recordTypes = append(recordTypes, rt)
		for _, r := range rts {
			recordTypeByRType[r] = rt
			minSizeV3[r] = rt.Size
		}
	}
	reg(&MboMsg{}, RTypeMbo)
	reg(&TradeMsg{}, RTypeMbp0)
	reg(&Mbp1Msg{}, RTypeMbp1)
	reg(&Mbp10Msg{}, RTypeMbp10)
	reg(&BboMsg{}, RTypeBbo1S, RTypeBbo1M)
	reg(&Cmbp1Msg{}, RTypeCmbp1, RTypeTcbbo)
	reg(&CbboMsg{}, RTypeCbbo1S, RTypeCbbo1M)
	reg(&OhlcvMsg{}, RTypeOhlcv1S, RTypeOhlcv1M, RTypeOhlcv1H, RTypeOhlcv1D, RTypeOhlcvEod, RTypeOhlcvDeprecated)
	reg(&StatusMsg{}, RTypeStatus)
	reg(&InstrumentDefMsg{}, RTypeInstrumentDef)
	reg(&ImbalanceMsg{}, RTypeImbalance)
	reg(&StatMsg{}, RTypeStatistics)
	reg(&ErrorMsg{}, RTypeError)
	reg(&SymbolMappingMsg{}, RTypeSymbolMapping)
	reg(&SystemMsg{}, RTypeSystem)
}

// LookupRType returns the descriptor of the v3 record type stored under rt,
// or nil for an unknown rtype.
func LookupRType(rt RType) *RecordType { return recordTypeByRType[rt] }

// RecordTypes returns the descriptors of every v3 record type.
func RecordTypes() []*RecordType { return slices.Clone(recordTypes) }

type tagInfo struct {
	name     string
	kind     string
	undef    bool
	index    bool
	order    int
	hasOrder bool
}

func parseTag(sf reflect.StructField) tagInfo {
	tag, ok := sf.Tag.Lookup("dbn")
	if !ok {
		panic("dbn: field " + sf.Name + " has no dbn tag")
	}
	parts := strings.Split(tag, ",")
	ti := tagInfo{name: parts[0]}
	if len(parts) > 1 {
		ti.kind = parts[1]
	}
	for _, p := range parts[2:] {
		switch {
		case p == "undef":
			ti.undef = true
		case p == "index":
			ti.index = true
		case strings.HasPrefix(p, "order="):
			n, err := strconv.Atoi(p[len("order="):])
			if err != nil {
				panic("dbn: bad order in tag " + tag)
			}
			ti.order, ti.hasOrder = n, true
		default:
			panic("dbn: bad tag option " + p)
		}
	}
	return ti
}

// orderedFields applies the reference encoder's encode_order rule to the
// direct fields of t: fields with an order are removed and reinserted at that
// position (ascending order), or appended when past the end.
func orderedFields(t reflect.Type) []int {
	idx := make([]int, t.NumField())
	for i := range idx {
		idx[i] = i
	}
	type ord struct{ order, field int }
	var ords []ord
	for i := range t.NumField() {
		if ti := parseTagOrEmbedded(t.Field(i)); ti.hasOrder {
			ords = append(ords, ord{ti.order, i})
		}
	}
	slices.SortStableFunc(ords, func(a, b ord) int { return a.order - b.order })
	for _, o := range ords {
		p := slices.Index(idx, o.field)
		idx = slices.Delete(idx, p, p+1)
		if o.order >= len(idx) {
			idx = append(idx, o.field)
		} else {
			idx = slices.Insert(idx, o.order, o.field)
		}
	}
	return idx
}

func parseTagOrEmbedded(sf reflect.StructField) tagInfo {
	if sf.Anonymous {
		return tagInfo{name: "hd"}
	}
	return parseTag(sf)
}

func buildRecordType(t reflect.Type) *RecordType {
	rt := &RecordType{Name: t.Name(), Size: int(t.Size()), GoType: t, byName: map[string]int{}, ptrType: reflect.PointerTo(t)}
	var idxOff = -1
	var walk func(t reflect.Type, base int, goPrefix, suffix string)
	walk = func(t reflect.Type, base int, goPrefix, suffix string) {
		for _, i := range orderedFields(t) {
			sf := t.Field(i)
			off := base + int(sf.Offset)
			if sf.Anonymous {
				walk(sf.Type, off, goPrefix, suffix)
				continue
			}
			ti := parseTag(sf)
			if ti.kind == "skip" {
				continue
			}
			goName := goPrefix + sf.Name
			if sf.Type.Kind() == reflect.Array && sf.Type.Elem().Kind() == reflect.Struct {
				el := sf.Type.Elem()
				for j := range sf.Type.Len() {
					walk(el, off+j*int(el.Size()), fmt.Sprintf("%s[%d].", goName, j), fmt.Sprintf("_%02d", j))
				}
				continue
			}
			f := Field{Name: ti.name + suffix, Offset: off, Size: int(sf.Type.Size()), GoName: goName}
			switch ti.kind {
			case "int":
				f.Kind = KindInt
			case "price":
				f.Kind = KindPrice
			case "ts":
				f.Kind = KindTimestamp
			case "char":
				f.Kind = KindChar
			case "cstr":
				f.Kind = KindCString
			case "flags":
				f.Kind = KindFlags
			default:
				panic("dbn: bad kind in tag of " + sf.Name)
			}
			switch {
			case f.Kind == KindCString:
				f.Wire = WireCString
			case f.Kind == KindChar:
				f.Wire = WireChar
			default:
				signed := false
				switch sf.Type.Kind() {
				case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
					signed = true
				}
				f.Wire = map[int]WireType{1: WireU8, 2: WireU16, 4: WireU32, 8: WireU64}[f.Size]
				if signed {
					f.Wire += WireI8 - WireU8
				}
			}
			if ti.undef {
				f.HasUndef = true
				bits := uint(8 * f.Size)
				if f.Wire.Signed() {
					f.Undef = 1<<(bits-1) - 1
				} else {
					f.Undef = 1<<bits - 1
					if bits == 64 {
						f.Undef = ^uint64(0)
					}
				}
			}
			if ti.index {
				idxOff = off
			}
			f.Index = len(rt.Fields)
			rt.byName[f.Name] = f.Index
			rt.Fields = append(rt.Fields, f)
		}
	}
	walk(t, 0, "", "")
	if idxOff < 0 {
		idxOff = 8 // ts_event
	}
	rt.IndexTsOffset = idxOff
	return rt
}
