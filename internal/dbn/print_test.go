package dbn

import (
	"bytes"
	"strings"
	"testing"
)

func catString(t *testing.T, file string, opts CatOptions) string {
	t.Helper()
	r, err := Open(samplePath(t, file))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if err := Cat(&out, r, opts); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestCatJSON(t *testing.T) {
	got := catString(t, "test_data.ohlcv-1s.v3.dbn.zst", CatOptions{Format: "json", MapSymbols: true})
	want := `{"ts_event":"2020-12-28T13:00:00.000000000Z","rtype":32,"publisher_id":1,"instrument_id":5482,"open":"372025.000000000","high":"372050.000000000","low":"372025.000000000","close":"372050.000000000","volume":57,"symbol":"ESH1"}
{"ts_event":"2020-12-28T13:00:01.000000000Z","rtype":32,"publisher_id":1,"instrument_id":5482,"open":"372050.000000000","high":"372050.000000000","low":"372050.000000000","close":"372050.000000000","volume":13,"symbol":"ESH1"}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Undefined sentinels print as null.
	stats := catString(t, "test_data.statistics.v3.dbn.zst", CatOptions{Format: "json", Limit: 1})
	if !strings.Contains(stats, `"ts_ref":null,"price":"100.000000000","quantity":null,"sequence":2,"ts_in_delta":26961,"stat_type":7,"channel_id":13,"update_action":1,"stat_flags":255}`) ||
		strings.Count(stats, "\n") != 1 {
		t.Errorf("statistics: %s", stats)
	}
	// A NUL char is not set: null, as Databento's decoder writes it (and
	// as it loads: NULL); an empty string field is "".
	def3 := catString(t, "test_data.definition.v3.dbn.zst", CatOptions{Format: "json", Limit: 1})
	if !strings.Contains(def3, `"leg_raw_symbol":"","leg_instrument_class":null,`) {
		t.Errorf("definition v3: %s", def3)
	}
	def := catString(t, "test_data.definition.v1.dbn.zst", CatOptions{Format: "json", Limit: 1, MapSymbols: true})
	if !strings.Contains(def, `"raw_symbol":"MSFT","security_update_action":"A","instrument_class":"K","min_price_increment":null,"display_factor":"100000.000000000"`) ||
		!strings.HasSuffix(def, `"symbol":"MSFT"}`+"\n") {
		t.Errorf("definition: %s", def)
	}
}

func TestCatCSV(t *testing.T) {
	got := catString(t, "test_data.mbp-1.v3.dbn.zst", CatOptions{Format: "csv", Limit: 1, MapSymbols: true})
	want := "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol\n" +
		"2020-12-28T13:00:00.006136329Z,2020-12-28T13:00:00.006001487Z,1,1,5482,A,A,0,3720.500000000,1,128,17214,1170362,3720.250000000,3720.500000000,24,11,15,9,ESH1\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	stats := catString(t, "test_data.statistics.v3.dbn.zst", CatOptions{Format: "csv"})
	lines := strings.Split(strings.TrimSpace(stats), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], ",,100.000000000,,2,") {
		t.Errorf("statistics csv: %s", stats)
	}
}

func TestInspect(t *testing.T) {
	r, err := Open(samplePath(t, "test_data.definition.v1.dbn.zst"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if err := Inspect(&out, "def.v1", r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dbn version:   1", "dataset:       XNAS.ITCH", "schema:        definition",
		"stype_in:      raw_symbol", "mappings:      1", "  MSFT\n", "2021-10-07 to 2021-10-11 (end exclusive): 6821",
		"records:       2", "instrument-def:  2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out.String())
		}
	}
}
