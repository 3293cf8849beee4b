package serve_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/serve"
	"github.com/hdi-dev/hdi/internal/testbin"
)

// TestLoadSeenAtOnce: the server remembers the dataset it picked for a
// symbol list (one round trip a request); a load by another process that
// changes what the symbols name is seen by the next request, not later.
// ES.c.0 is first a symbol of XNAS.ITCH alone (a mapping written by hand);
// then `hdi ingest` of the demo's 1m bars maps it in GLBX.MDP3 too, and the
// request must fail as ambiguous, as it would on a fresh server.
func TestLoadSeenAtOnce(t *testing.T) {
	bin = testbin.Dir(t)
	url := pgtest.NewDB(t)
	dir := t.TempDir()
	if out, err := hdi(url, "dbn", "synth", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("hdi dbn synth: %v\n%s", err, out)
	}
	// Only the definitions first: their mappings are ES.FUT's, not ES.c.0's.
	bars := filepath.Join(t.TempDir(), "demo.ohlcv-1m.dbn.zst")
	if err := os.Rename(filepath.Join(dir, "demo.ohlcv-1m.dbn.zst"), bars); err != nil {
		t.Fatal(err)
	}
	if out, err := hdi(url, "ingest", "--migrate", "--provider", "databento", "--file", filepath.Join(dir, "demo.definition.dbn.zst")).CombinedOutput(); err != nil {
		t.Fatalf("hdi ingest definitions: %v\n%s", err, out)
	}
	db := pgtest.Connect(t, url)
	if _, err := db.Exec(t.Context(), `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
		VALUES ('XNAS.ITCH', 'continuous', 'ES.c.0', 'instrument_id', '777', '2024-03-11', '2024-03-23', 'test')`); err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, url, serve.Options{})
	const path = "/api/v1/bars?symbols=ES.c.0&interval=1m&start=2024-03-14&end=2024-03-14"
	for try := range 2 { // picked, then remembered
		if r := ts.fetch(t, path); r.status != 200 || strings.Contains(string(r.body), "ESH4") {
			t.Fatalf("try %d, ES.c.0 in XNAS.ITCH alone: %d %.300s", try, r.status, r.body)
		}
	}

	if out, err := hdi(url, "ingest", "--provider", "databento", "--file", bars).CombinedOutput(); err != nil {
		t.Fatalf("hdi ingest bars: %v\n%s", err, out)
	}
	r := ts.fetch(t, path)
	if want := "ES.c.0 names something in several datasets (GLBX.MDP3, XNAS.ITCH): pick one with dataset="; r.status != 400 || !strings.Contains(string(r.body), want) {
		t.Errorf("after the load: %d %.400s\nwant 400 saying %q", r.status, r.body, want)
	}
	if r := ts.fetch(t, path+"&dataset=GLBX.MDP3"); r.status != 200 || !strings.Contains(string(r.body), `"raw_symbol":"ESH4"`) {
		t.Errorf("dataset=GLBX.MDP3 after the load: %d %.300s", r.status, r.body)
	}
}
