package dbn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestLayoutSizes(t *testing.T) {
	want := map[any]int{
		MboMsg{}: 56, TradeMsg{}: 48, Mbp1Msg{}: 80, Mbp10Msg{}: 368, BboMsg{}: 80, Cmbp1Msg{}: 80,
		CbboMsg{}: 80, OhlcvMsg{}: 56, StatusMsg{}: 40, InstrumentDefMsg{}: 520, ImbalanceMsg{}: 112,
		StatMsg{}: 80, ErrorMsg{}: 320, SymbolMappingMsg{}: 176, SystemMsg{}: 320,
		InstrumentDefMsgV1{}: 360, InstrumentDefMsgV2{}: 400, StatMsgV1{}: 64, SymbolMappingMsgV1{}: 80,
		ErrorMsgV1{}: 80, SystemMsgV1{}: 80, BidAskPair{}: 32, ConsolidatedBidAskPair{}: 32, RecordHeader{}: 16,
	}
	for v, n := range want {
		if got := int(reflect.TypeOf(v).Size()); got != n {
			t.Errorf("%T is %d bytes, want %d", v, got, n)
		}
	}
	// Every byte is covered exactly once by a field (no implicit padding).
	for _, v := range genTypes {
		typ := reflect.TypeOf(v)
		var sum func(t reflect.Type) uintptr
		sum = func(t reflect.Type) uintptr {
			var s uintptr
			for i := range t.NumField() {
				f := t.Field(i)
				if f.Type.Kind() == reflect.Struct {
					s += sum(f.Type)
				} else if f.Type.Kind() == reflect.Array && f.Type.Elem().Kind() == reflect.Struct {
					s += uintptr(f.Type.Len()) * sum(f.Type.Elem())
				} else {
					s += f.Type.Size()
				}
			}
			return s
		}
		if s := sum(typ); s != typ.Size() {
			t.Errorf("%s: fields cover %d bytes of %d (implicit padding)", typ.Name(), s, typ.Size())
		}
	}
}

// Known offsets in the v3 layouts, from the reference C structs.
func TestKnownOffsets(t *testing.T) {
	cases := []struct {
		rt     RType
		field  string
		offset int
		wire   WireType
		kind   Kind
	}{
		{RTypeMbp0, "price", 16, WireI64, KindPrice},
		{RTypeMbp0, "size", 24, WireU32, KindInt},
		{RTypeMbp0, "ts_recv", 32, WireU64, KindTimestamp},
		{RTypeMbp0, "sequence", 44, WireU32, KindInt},
		{RTypeMbo, "order_id", 16, WireU64, KindInt},
		{RTypeMbp10, "bid_px_09", 48 + 9*32, WireI64, KindPrice},
		{RTypeMbp10, "ask_ct_09", 48 + 9*32 + 28, WireU32, KindInt},
		{RTypeCmbp1, "ask_pb_00", 48 + 28, WireU16, KindInt},
		{RTypeStatistics, "quantity", 40, WireI64, KindInt},
		{RTypeStatistics, "stat_type", 56, WireU16, KindInt},
		{RTypeInstrumentDef, "raw_symbol", 238, WireCString, KindCString},
		{RTypeInstrumentDef, "leg_side", 502, WireChar, KindChar},
		{RTypeSymbolMapping, "stype_out_symbol", 89, WireCString, KindCString},
		{RTypeSymbolMapping, "start_ts", 160, WireU64, KindTimestamp},
		{RTypeError, "code", 318, WireU8, KindInt},
		{RTypeSystem, "code", 319, WireU8, KindInt},
	}
	for _, c := range cases {
		f := LookupRType(c.rt).Field(c.field)
		if f == nil {
			t.Errorf("%s: no field %s", c.rt, c.field)
			continue
		}
		if f.Offset != c.offset || f.Wire != c.wire || f.Kind != c.kind {
			t.Errorf("%s.%s = offset %d %s %s, want %d %s %s", c.rt, c.field, f.Offset, f.Wire, f.Kind, c.offset, c.wire, c.kind)
		}
	}
}

// The field order follows the reference encoder's encode_order rule.
func TestFieldOrder(t *testing.T) {
	names := func(rt RType) string {
		var s []string
		for _, f := range LookupRType(rt).Fields {
			s = append(s, f.Name)
		}
		return strings.Join(s, ",")
	}
	want := map[RType]string{
		RTypeMbp0:    "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,sequence",
		RTypeMbo:     "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,order_id,flags,ts_in_delta,sequence",
		RTypeOhlcv1S: "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume",
		RTypeBbo1S:   "ts_recv,ts_event,rtype,publisher_id,instrument_id,side,price,size,flags,sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00",
	}
	for rt, w := range want {
		if got := names(rt); got != w {
			t.Errorf("%s order:\n got %s\nwant %s", rt, got, w)
		}
	}
	def := names(RTypeInstrumentDef)
	if !strings.HasPrefix(def, "ts_recv,ts_event,rtype,publisher_id,instrument_id,raw_symbol,security_update_action,instrument_class,min_price_increment,") ||
		!strings.HasSuffix(def, ",leg_count,leg_index,leg_instrument_id,leg_raw_symbol,leg_instrument_class,leg_side,leg_price,leg_delta,leg_ratio_price_numerator,leg_ratio_price_denominator,leg_ratio_qty_numerator,leg_ratio_qty_denominator,leg_underlying_id") {
		t.Errorf("definition order: %s", def)
	}
	if n := len(LookupRType(RTypeInstrumentDef).Fields); n != 73 {
		t.Errorf("definition has %d fields, want 73", n)
	}
}

func sampleFiles(t *testing.T) []string {
	ents, err := os.ReadDir(sampleDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".dbn") {
			out = append(out, filepath.Join(sampleDir(t), e.Name()))
		}
	}
	if len(out) < 19 {
		t.Fatalf("expected at least 19 sample DBN files, found %d", len(out))
	}
	return out
}

func TestSampleFilesDecode(t *testing.T) {
	for _, p := range sampleFiles(t) {
		m, recs := readAll(t, p)
		base := filepath.Base(p)
		wantVersion := base[strings.Index(base, ".v")+2] - '0'
		if m.Version != wantVersion {
			t.Errorf("%s: version %d, want %d", base, m.Version, wantVersion)
		}
		schemaName := strings.Split(base, ".")[1]
		if m.Schema.String() != schemaName {
			t.Errorf("%s: schema %s", base, m.Schema)
		}
		wantRT, _ := m.Schema.RType()
		for i, r := range recs {
			if RType(r[1]) != wantRT {
				t.Errorf("%s: record %d has rtype %s, want %s", base, i, RType(r[1]), wantRT)
			}
			rt := LookupRType(RType(r[1]))
			if len(r) != rt.Size || int(r[0])*4 != len(r) {
				t.Errorf("%s: record %d is %d bytes (length byte %d), want %d", base, i, len(r), r[0], rt.Size)
			}
		}
		if !strings.Contains(base, "ohlcv-1d") && len(recs) == 0 {
			t.Errorf("%s: no records", base)
		}
	}
}

type jsonHd struct {
	TsEvent      string `json:"ts_event"`
	RType        int    `json:"rtype"`
	PublisherID  int    `json:"publisher_id"`
	InstrumentID int    `json:"instrument_id"`
}

func TestOhlcv1sMatchesOfficialJSON(t *testing.T) {
	f, err := os.Open(samplePath(t, "test_data.ohlcv-1s.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type row struct {
		Hd                             jsonHd
		Open, High, Low, Close, Volume string
	}
	var want []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	r, err := Open(samplePath(t, "test_data.ohlcv-1s.v3.dbn.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	i := 0
	for ; r.Next(); i++ {
		if i >= len(want) {
			t.Fatalf("more records than the JSON's %d", len(want))
		}
		var m OhlcvMsg
		if err := r.DecodeInto(&m); err != nil {
			t.Fatal(err)
		}
		w := want[i]
		u := func(s string) uint64 { v, err := strconv.ParseUint(s, 10, 64); must(0, err); return v }
		i64 := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
		if m.TsEvent != u(w.Hd.TsEvent) || int(m.RType) != w.Hd.RType || int(m.PublisherID) != w.Hd.PublisherID ||
			int(m.InstrumentID) != w.Hd.InstrumentID || m.Open != i64(w.Open) || m.High != i64(w.High) ||
			m.Low != i64(w.Low) || m.Close != i64(w.Close) || m.Volume != u(w.Volume) {
			t.Errorf("record %d: got %+v, want %+v", i, m, w)
		}
	}
	if r.Err() != nil || i != len(want) || i == 0 {
		t.Fatalf("decoded %d records, want %d (err %v)", i, len(want), r.Err())
	}
}

func TestMetadataMatchesMetaJSON(t *testing.T) {
	raw, err := os.ReadFile(samplePath(t, "test_data.ohlcv-1s.meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Dataset, Schema, Start, End, Limit string
		StypeIn                            string `json:"stype_in"`
		StypeOut                           string `json:"stype_out"`
		TsOut                              bool   `json:"ts_out"`
		SymbolCstrLen                      int    `json:"symbol_cstr_len"`
		Symbols, Partial                   []string
		NotFound                           []string `json:"not_found"`
		Mappings                           []struct {
			RawSymbol string `json:"raw_symbol"`
			Intervals []struct {
				StartDate uint32 `json:"start_date"`
				EndDate   uint32 `json:"end_date"`
				Symbol    string
			}
		}
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	m, _ := readAll(t, samplePath(t, "test_data.ohlcv-1s.v3.dbn.zst"))
	if m.Dataset != w.Dataset || m.Schema.String() != w.Schema || strconv.FormatUint(m.Start, 10) != w.Start ||
		strconv.FormatUint(m.End, 10) != w.End || strconv.FormatUint(m.Limit, 10) != w.Limit ||
		m.STypeIn.String() != w.StypeIn || m.STypeOut.String() != w.StypeOut || m.TsOut != w.TsOut ||
		m.SymbolCstrLen != w.SymbolCstrLen || !reflect.DeepEqual(m.Symbols, w.Symbols) ||
		len(m.Partial) != len(w.Partial) || len(m.NotFound) != len(w.NotFound) {
		t.Errorf("metadata %+v\ndiffers from %s", m, raw)
	}
	if len(m.Mappings) != len(w.Mappings) {
		t.Fatalf("%d mappings, want %d", len(m.Mappings), len(w.Mappings))
	}
	for i, wm := range w.Mappings {
		gm := m.Mappings[i]
		if gm.RawSymbol != wm.RawSymbol || len(gm.Intervals) != len(wm.Intervals) {
			t.Fatalf("mapping %d: %+v, want %+v", i, gm, wm)
		}
		for j, wi := range wm.Intervals {
			gi := gm.Intervals[j]
			if gi.StartDate.YYYYMMDD() != wi.StartDate || gi.EndDate.YYYYMMDD() != wi.EndDate || gi.Symbol != wi.Symbol {
				t.Errorf("mapping %d interval %d: %+v, want %+v", i, j, gi, wi)
			}
		}
	}
	// Concretely: ESH1 was instrument 5482 on 2020-12-28 only (end exclusive).
	iv := m.Mappings[0].Intervals[0]
	if iv.StartDate != (Date{2020, 12, 28}) || iv.EndDate != (Date{2020, 12, 29}) || iv.StartDate.Time().Format("2006-01-02") != "2020-12-28" {
		t.Errorf("interval %+v", iv)
	}
	// A v1 file's mappings (22-byte symbols) decode too.
	m1, _ := readAll(t, samplePath(t, "test_data.definition.v1.dbn.zst"))
	m3, _ := readAll(t, samplePath(t, "test_data.definition.v3.dbn.zst"))
	if m1.SymbolCstrLen != 22 || m3.SymbolCstrLen != 71 || !reflect.DeepEqual(m1.Mappings, m3.Mappings) || len(m1.Mappings[0].Intervals) != 62 {
		t.Errorf("v1 mappings differ from v3: %d intervals", len(m1.Mappings[0].Intervals))
	}
	if got := m1.Mappings[0].Intervals[3]; got.StartDate != (Date{2021, 10, 7}) || got.EndDate != (Date{2021, 10, 11}) || got.Symbol != "6821" {
		t.Errorf("v1 interval 3 = %+v", got)
	}
}

func TestVersionsDecodeIdentically(t *testing.T) {
	for _, c := range []struct {
		schema   string
		versions []int
	}{
		{"trades", []int{1, 2, 3}},
		{"definition", []int{1, 2, 3}},
		{"ohlcv-1d", []int{2, 3}},
	} {
		_, want := readAll(t, samplePath(t, "test_data."+c.schema+".v3.dbn.zst"))
		for _, v := range c.versions[:len(c.versions)-1] {
			_, got := readAll(t, samplePath(t, "test_data."+c.schema+".v"+strconv.Itoa(v)+".dbn.zst"))
			if len(got) != len(want) {
				t.Fatalf("%s v%d: %d records, v3 has %d", c.schema, v, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("%s v%d record %d differs from v3:\n%x\n%x", c.schema, v, i, got[i], want[i])
				}
			}
		}
	}
	// The v1 definition upgraded: check some values.
	_, recs := readAll(t, samplePath(t, "test_data.definition.v1.dbn.zst"))
	var d InstrumentDefMsg
	if err := d.Decode(recs[0]); err != nil {
		t.Fatal(err)
	}
	if d.RawSymbolString() != "MSFT" || d.InstrumentID != 6819 || d.Length != 130 || CString(d.Exchange[:]) != "XNAS" ||
		d.InstrumentClass != 'K' || d.MinLotSizeRoundLot != 100 || d.LegPrice != UndefPrice || d.LegSide != 'N' ||
		d.DisplayFactor != 100_000_000_000_000 || d.TsRecv != 1633331241618029519 {
		t.Errorf("v1 definition upgraded to %+v", d)
	}
}

func TestStatisticsV3Fields(t *testing.T) {
	// Values read from the bytes of the sample (records at offsets 128 and 208).
	_, recs := readAll(t, samplePath(t, "test_data.statistics.v3.dbn.zst"))
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	want := []StatMsg{{
		RecordHeader: RecordHeader{Length: 20, RType: RTypeStatistics, PublisherID: 1, InstrumentID: 146945, TsEvent: 1682269536030443135},
		TsRecv:       1682269536040124325, TsRef: UndefTimestamp, Price: 100_000_000_000, Quantity: UndefStatQuantity,
		Sequence: 2, TsInDelta: 26961, StatType: StatLowestOffer, ChannelID: 13, UpdateAction: 1, StatFlags: 255,
	}, {
		RecordHeader: RecordHeader{Length: 20, RType: RTypeStatistics, PublisherID: 1, InstrumentID: 146945, TsEvent: 1682269536071497081},
		TsRecv:       1682269536121890092, TsRef: UndefTimestamp, Price: 100_000_000_000, Quantity: UndefStatQuantity,
		Sequence: 7, TsInDelta: 28456, StatType: StatTradingSessionHighPrice, ChannelID: 13, UpdateAction: 1, StatFlags: 255,
	}}
	for i, rec := range recs {
		var got StatMsg
		if err := got.Decode(rec); err != nil {
			t.Fatal(err)
		}
		if got != want[i] {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, want[i])
		}
		q := LookupRType(RTypeStatistics).Field("quantity")
		if !q.IsUndef(rec) || q.Wire != WireI64 {
			t.Errorf("quantity should be the undefined i64 sentinel")
		}
	}
}

// fillRandom sets every exported field of the struct v points to at random.
func fillRandom(rng *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).Name != "_" {
				fillRandom(rng, v.Field(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fillRandom(rng, v.Index(i))
		}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(rng.Uint64())
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(rng.Uint64()))
	}
}

func randomRecord(rng *rand.Rand, rt *RecordType, rtype RType) Record {
	rec := rt.New()
	fillRandom(rng, reflect.ValueOf(rec).Elem())
	h := rec.Header()
	h.RType = rtype
	h.Length = uint8(rt.Size / 4)
	return rec
}

// decode(encode(x)) == x for every record type and rtype, through the
// Encoder and Reader, plain and zstd, with and without ts_out.
func TestRoundTripEveryType(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, zstdOn := range []bool{false, true} {
		for _, tsOut := range []bool{false, true} {
			meta := &Metadata{Dataset: "TEST.X", Schema: SchemaNone, Start: 1, End: UndefTimestamp, STypeIn: STypeRawSymbol, STypeOut: STypeInstrumentID, TsOut: tsOut,
				Symbols: []string{"ESH1", strings.Repeat("x", 70)}, Partial: []string{"P"}, NotFound: []string{"NF"},
				Mappings: []SymbolMapping{{RawSymbol: "ESH1", Intervals: []MappingInterval{{Date{2020, 12, 28}, Date{2020, 12, 29}, "5482"}}}}}
			var buf bytes.Buffer
			enc, err := NewEncoder(&buf, meta, &EncoderOptions{Zstd: zstdOn})
			if err != nil {
				t.Fatal(err)
			}
			var want []Record
			var wantTs []uint64
			for _, rt := range RecordTypes() {
				for _, rtype := range rt.RTypes {
					for range 3 {
						rec := randomRecord(rng, rt, rtype)
						ts := rng.Uint64()
						if tsOut {
							rec.Header().Length += 2
						}
						if err := enc.EncodeWithTsOut(rec, ts); err != nil {
							t.Fatal(err)
						}
						want = append(want, rec)
						wantTs = append(wantTs, ts)
					}
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			for _, inMem := range []bool{false, true} {
				var r *Reader
				var err error
				if inMem {
					r, err = NewBytesReader(buf.Bytes())
				} else {
					r, err = NewReader(bytes.NewReader(buf.Bytes()), WithBufferSize(4096))
				}
				if err != nil {
					t.Fatal(err)
				}
				gm := *r.Metadata()
				meta.Version, meta.SymbolCstrLen = 3, 71
				if !reflect.DeepEqual(&gm, meta) {
					t.Errorf("metadata round trip:\n got %+v\nwant %+v", gm, *meta)
				}
				i := 0
				for ; r.Next(); i++ {
					got := r.Record()
					if !reflect.DeepEqual(got, want[i]) {
						t.Fatalf("record %d (%T) differs:\n got %+v\nwant %+v", i, got, got, want[i])
					}
					if ts, ok := r.TsOut(); ok != tsOut || (tsOut && ts != wantTs[i]) {
						t.Fatalf("record %d ts_out %d %v", i, ts, ok)
					}
				}
				if r.Err() != nil || i != len(want) {
					t.Fatalf("read %d of %d records: %v", i, len(want), r.Err())
				}
			}
		}
	}
}

// Every descriptor field reads the same value as the generated decoder puts
// in the Go struct field it names.
func TestDescriptorsMatchStructs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rt := range RecordTypes() {
		for range 5 {
			rec := randomRecord(rng, rt, rt.RTypes[0])
			b := make([]byte, rt.Size)
			rec.Encode(b)
			v := reflect.ValueOf(rec).Elem()
			for _, f := range rt.Fields {
				fv := v
				for _, part := range strings.Split(f.GoName, ".") {
					idx := -1
					if k := strings.IndexByte(part, '['); k >= 0 {
						idx, _ = strconv.Atoi(part[k+1 : len(part)-1])
						part = part[:k]
					}
					fv = fv.FieldByName(part)
					if idx >= 0 {
						fv = fv.Index(idx)
					}
				}
				switch fv.Kind() {
				case reflect.Array:
					if !bytes.Equal(f.CString(b), bytes.SplitN(fv.Bytes(), []byte{0}, 2)[0]) {
						t.Errorf("%s.%s c-string mismatch", rt.Name, f.Name)
					}
				case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
					if f.Int(b) != fv.Int() {
						t.Errorf("%s.%s: descriptor %d, struct %d", rt.Name, f.Name, f.Int(b), fv.Int())
					}
				default:
					if f.Uint(b) != fv.Uint() {
						t.Errorf("%s.%s: descriptor %d, struct %d", rt.Name, f.Name, f.Uint(b), fv.Uint())
					}
				}
			}
		}
	}
}

// buildStream encodes metadata of version v followed by raw records.
func buildStream(meta *Metadata, v uint8, recs ...[]byte) []byte {
	b := appendMetadata(nil, meta, v)
	for _, r := range recs {
		b = append(b, r...)
	}
	return b
}

func encodeRec(rec Record) []byte {
	b := make([]byte, rec.EncodedLen())
	rec.Encode(b)
	b[0] = uint8(len(b) / 4)
	return b
}

func testMeta() *Metadata {
	return &Metadata{Dataset: "GLBX.MDP3", Schema: SchemaNone, End: UndefTimestamp, STypeIn: STypeRawSymbol, STypeOut: STypeInstrumentID}
}

func TestUpgradeV1Records(t *testing.T) {
	sm := &SymbolMappingMsgV1{RecordHeader: RecordHeader{RType: RTypeSymbolMapping, PublisherID: 1, InstrumentID: 5482, TsEvent: 10}, StartTs: 100, EndTs: 200}
	SetCString(sm.STypeInSymbol[:], "ES.c.0")
	SetCString(sm.STypeOutSymbol[:], "ESH1")
	er := &ErrorMsgV1{RecordHeader: RecordHeader{RType: RTypeError, TsEvent: 11}}
	SetCString(er.Err[:], "User or API key deactivated")
	sy := &SystemMsgV1{RecordHeader: RecordHeader{RType: RTypeSystem, TsEvent: 12}}
	SetCString(sy.Msg[:], "Heartbeat")
	st := &StatMsgV1{RecordHeader: RecordHeader{RType: RTypeStatistics, InstrumentID: 7}, Price: 5, Quantity: UndefStatQuantityV1, StatType: StatClearedVolume, ChannelID: 3}
	st2 := &StatMsgV1{RecordHeader: RecordHeader{RType: RTypeStatistics, InstrumentID: 7}, Quantity: -42}
	for _, v := range []uint8{1, 2} {
		recs := [][]byte{encodeRec(st), encodeRec(st2)}
		if v == 1 {
			recs = append(recs, encodeRec(sm), encodeRec(er), encodeRec(sy))
		}
		r, err := NewReader(bytes.NewReader(buildStream(testMeta(), v, recs...)))
		if err != nil {
			t.Fatal(err)
		}
		var got []Record
		for r.Next() {
			if len(r.RecordBytes()) != LookupRType(r.RType()).Size {
				t.Errorf("upgraded %s is %d bytes", r.RType(), len(r.RecordBytes()))
			}
			got = append(got, r.Record())
		}
		if r.Err() != nil || len(got) != len(recs) {
			t.Fatalf("v%d: %d records, %v", v, len(got), r.Err())
		}
		s := got[0].(*StatMsg)
		if s.Quantity != UndefStatQuantity || s.Price != 5 || s.StatType != StatClearedVolume || s.ChannelID != 3 || s.InstrumentID != 7 || s.Length != 20 {
			t.Errorf("v%d stat upgraded to %+v", v, s)
		}
		if q := got[1].(*StatMsg).Quantity; q != -42 {
			t.Errorf("quantity -42 upgraded to %d", q)
		}
		if v == 1 {
			m := got[2].(*SymbolMappingMsg)
			if m.STypeInSymbolString() != "ES.c.0" || m.STypeOutSymbolString() != "ESH1" || m.STypeIn != STypeNone || m.StartTs != 100 || m.EndTs != 200 || m.InstrumentID != 5482 {
				t.Errorf("symbol mapping upgraded to %+v", m)
			}
			if e := got[3].(*ErrorMsg); CString(e.Err[:]) != "User or API key deactivated" || e.Code != ErrorCodeAPIKeyDeactivated || e.IsLast != 255 {
				t.Errorf("error upgraded to code %d", e.Code)
			}
			if s := got[4].(*SystemMsg); CString(s.Msg[:]) != "Heartbeat" || s.Code != SystemCodeHeartbeat {
				t.Errorf("system upgraded to code %d", s.Code)
			}
		}
	}
}

func TestTsOutUpgrade(t *testing.T) {
	meta := testMeta()
	meta.TsOut = true
	st := &StatMsgV1{RecordHeader: RecordHeader{RType: RTypeStatistics}, Quantity: 9}
	b := encodeRec(st)
	b = binary.LittleEndian.AppendUint64(b, 777)
	b[0] = uint8(len(b) / 4)
	r, err := NewReader(bytes.NewReader(buildStream(meta, 2, b)))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Next() {
		t.Fatal(r.Err())
	}
	if ts, ok := r.TsOut(); !ok || ts != 777 || len(r.RecordBytes()) != 88 || r.RecordBytes()[0] != 22 {
		t.Errorf("ts_out %d %v, %d bytes", ts, ok, len(r.RecordBytes()))
	}
}

func TestUnknownRTypeSkipped(t *testing.T) {
	unknown := make([]byte, 24)
	unknown[0], unknown[1] = 6, 0x99
	tr := encodeRec(&TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0}, Price: 1})
	r, err := NewReader(bytes.NewReader(buildStream(testMeta(), 3, unknown, tr, unknown)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r.Next() {
		n++
	}
	skipped, by := r.Skipped()
	if r.Err() != nil || n != 1 || skipped != 2 || by[0x99] != 2 {
		t.Errorf("n=%d skipped=%d %v err=%v", n, skipped, by, r.Err())
	}
}

func TestBadInput(t *testing.T) {
	good := buildStream(testMeta(), 3, encodeRec(&TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0}}))
	metaLen := len(good) - 48
	var zbuf bytes.Buffer
	enc, _ := NewEncoder(&zbuf, testMeta(), &EncoderOptions{Zstd: true})
	for range 1000 {
		enc.Encode(&TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0}, Price: rand.Int64()})
	}
	enc.Close()
	corrupt := bytes.Clone(zbuf.Bytes())
	for i := 40; i < len(corrupt)-8; i += 7 {
		corrupt[i] ^= 0x5A
	}
	shortLen := bytes.Clone(good)
	shortLen[metaLen] = 2 // 8 bytes < header
	smallTrade := bytes.Clone(good)
	smallTrade[metaLen] = 10 // 40 bytes < 48
	smallTrade = smallTrade[:len(smallTrade)-8]
	longRec := bytes.Clone(good)
	longRec[metaLen] = 20 // 80 bytes > what is left
	badVersion := bytes.Clone(good)
	badVersion[3] = 9
	cases := []struct {
		name   string
		in     []byte
		kind   error
		offset int64
		words  string
	}{
		{"empty", nil, ErrBadMagic, 0, "expected"},
		{"wrong magic", []byte("PK\x03\x04 not dbn at all"), ErrBadMagic, 0, "expected \"DBN\""},
		{"unsupported version", badVersion, ErrUnsupportedVersion, 3, "expected 1, 2 or 3"},
		{"truncated prefix", good[:6], ErrTruncatedMetadata, 6, "8-byte metadata prefix"},
		{"truncated metadata", good[:60], ErrTruncatedMetadata, 60, "metadata bytes"},
		{"truncated record", good[:len(good)-5], ErrTruncatedRecord, int64(metaLen), "only 43 left"},
		{"length below header", shortLen, ErrBadRecordLength, int64(metaLen), "at least the 16-byte record header"},
		{"length below layout", smallTrade, ErrBadRecordLength, int64(metaLen), "expected at least 48"},
		{"length beyond input", longRec, ErrTruncatedRecord, int64(metaLen), "header says 80 bytes"},
		{"corrupt zstd", corrupt, ErrCorruptZstd, -1, "zstd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := readAllErr(c.in)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want a %v DecodeError", err, c.kind)
			}
			if (c.offset >= 0 && de.Offset != c.offset) || !strings.Contains(err.Error(), c.words) || !strings.Contains(err.Error(), "byte offset") {
				t.Errorf("error %q: want offset %d and %q", err, c.offset, c.words)
			}
		})
	}
}

// readAllErr decodes in through both NewReader and NewBytesReader and
// returns the error, checking that both paths agree.
func readAllErr(in []byte) error {
	run := func(r *Reader, err error) error {
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			_ = r.Record()
			_ = r.Offset()
		}
		return r.Err()
	}
	e1 := run(NewReader(bytes.NewReader(in), WithBufferSize(4096)))
	e2 := run(NewBytesReader(in))
	if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error() && !errors.Is(e1, ErrCorruptZstd)) {
		panic(fmt.Sprintf("stream and in-memory readers disagree:\n%v\n%v", e1, e2))
	}
	return e1
}

func TestNextDoesNotAllocate(t *testing.T) {
	var buf bytes.Buffer
	enc, _ := NewEncoder(&buf, testMeta(), nil)
	for i := range 10000 {
		enc.Encode(&TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0}, Price: int64(i)})
	}
	enc.Close()
	data := buf.Bytes()
	r, err := NewReader(bytes.NewReader(data), WithBufferSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	var m TradeMsg
	allocs := testing.AllocsPerRun(9000, func() {
		if !r.Next() {
			t.Fatal("ran out")
		}
		_ = r.DecodeInto(&m)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per record", allocs)
	}
}

// TestLegacyDBZ: a legacy DBZ file (metadata in a zstd skippable frame that
// starts "DBZ") is named for what it is, with what to do.
func TestLegacyDBZ(t *testing.T) {
	frame := []byte{0x50, 0x2A, 0x4D, 0x18, 16, 0, 0, 0, 'D', 'B', 'Z', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	_, err := NewReader(bytes.NewReader(frame))
	if err == nil || !errors.Is(err, ErrBadMagic) || !strings.Contains(err.Error(), "legacy DBZ file") || !strings.Contains(err.Error(), "dbn FILE.dbz --output FILE.dbn") {
		t.Fatalf("got %v", err)
	}
}
