package dbn

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzMetadata feeds arbitrary bytes to both readers: they must return
// metadata or an error, never panic.
func FuzzMetadata(f *testing.F) {
	for _, s := range metadataSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewBytesReader(data)
		if err == nil {
			m := r.Metadata()
			// What decodes must re-encode and decode to the same metadata (v3 form).
			r2, err := NewBytesReader(m.AppendEncoded(nil))
			if err != nil {
				t.Fatalf("re-encoded metadata does not decode: %v", err)
			}
			if r2.Metadata().Dataset != trimDataset(m.Dataset) || len(r2.Metadata().Mappings) != len(m.Mappings) {
				t.Fatalf("metadata round trip differs")
			}
		}
		_ = readAllErr(data)
	})
}

func trimDataset(s string) string {
	if len(s) > datasetCstrLen-1 {
		return s[:datasetCstrLen-1]
	}
	return s
}

// FuzzRecords feeds arbitrary record bytes after valid metadata of version
// 1, 2 or 3 (with or without ts_out) to the readers and the printers.
func FuzzRecords(f *testing.F) {
	for _, s := range recordSeeds() {
		f.Add(s.version, s.tsOut, s.recs)
	}
	f.Fuzz(func(t *testing.T, version uint8, tsOut bool, recs []byte) {
		meta := testMeta()
		meta.TsOut = tsOut
		stream := buildStream(meta, version%3+1, recs)
		_ = readAllErr(stream)
		for _, format := range []string{"json", "csv"} {
			r, err := NewBytesReader(stream)
			if err != nil {
				t.Fatal(err)
			}
			_ = Cat(io.Discard, r, CatOptions{Format: format, MapSymbols: true})
		}
	})
}

func metadataSeeds() [][]byte {
	full := &Metadata{Dataset: "GLBX.MDP3", Schema: SchemaTrades, Start: 1609160400000000000, End: 1609200000000000000, Limit: 2,
		STypeIn: STypeRawSymbol, STypeOut: STypeInstrumentID, Symbols: []string{"ESH1"}, Partial: []string{"ESM1"}, NotFound: []string{"XX"},
		Mappings: []SymbolMapping{{RawSymbol: "ESH1", Intervals: []MappingInterval{{Date{2020, 12, 28}, Date{2020, 12, 29}, "5482"}}}}}
	v3 := appendMetadata(nil, full, 3)
	return [][]byte{v3, appendMetadata(nil, full, 2), appendMetadata(nil, full, 1), appendMetadata(nil, testMeta(), 3), v3[:50]}
}

type recordSeed struct {
	version uint8 // the fuzz target uses version%3+1
	tsOut   bool
	recs    []byte
}

func recordSeeds() []recordSeed {
	tr := encodeRec(&TradeMsg{RecordHeader: RecordHeader{RType: RTypeMbp0, InstrumentID: 5482, TsEvent: 1609160400000000000}, Price: 3720250000000, Size: 5, Action: 'T', Side: 'A'})
	mbp := encodeRec(&Mbp10Msg{RecordHeader: RecordHeader{RType: RTypeMbp10}, Price: UndefPrice})
	def := NewInstrumentDefMsg()
	SetCString(def.RawSymbol[:], "ESH1")
	defV1 := &InstrumentDefMsgV1{RecordHeader: RecordHeader{RType: RTypeInstrumentDef}}
	SetCString(defV1.RawSymbol[:], "MSFT")
	statV1 := encodeRec(&StatMsgV1{RecordHeader: RecordHeader{RType: RTypeStatistics}, Quantity: UndefStatQuantityV1})
	sm := &SymbolMappingMsg{RecordHeader: RecordHeader{RType: RTypeSymbolMapping, InstrumentID: 5482}}
	SetCString(sm.STypeOutSymbol[:], "ESH1")
	unknown := make([]byte, 16)
	unknown[0], unknown[1] = 4, 0x77
	withTs := append(bytes.Clone(tr), 1, 2, 3, 4, 5, 6, 7, 8)
	withTs[0] = uint8(len(withTs) / 4)
	return []recordSeed{
		{2, false, cat(tr, mbp, encodeRec(def), encodeRec(sm), unknown)},
		{0, false, cat(encodeRec(defV1), statV1)},
		{1, false, cat(statV1, tr)},
		{2, true, withTs},
		{2, false, tr[:30]},
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestWriteFuzzSeeds writes the seed corpus under testdata/fuzz when run
// with -gen (the seeds come from the encoder, not from the shared samples).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*genFlag {
		t.Skip("run with -gen to rewrite testdata/fuzz")
	}
	write := func(target string, i int, vals ...string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n"
		for _, v := range vals {
			body += v + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range metadataSeeds() {
		write("FuzzMetadata", i, fmt.Sprintf("[]byte(%q)", s))
	}
	for i, s := range recordSeeds() {
		write("FuzzRecords", i, fmt.Sprintf("byte(%q)", s.version), fmt.Sprintf("bool(%v)", s.tsOut), fmt.Sprintf("[]byte(%q)", s.recs))
	}
}
