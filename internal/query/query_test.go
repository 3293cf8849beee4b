package query_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/output"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/query/querytest"
	sqlfiles "github.com/hdi-dev/hdi/sql"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func catalog(t *testing.T, userDir string) *query.Catalog {
	t.Helper()
	c, err := query.Load(sqlfiles.Queries, userDir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, conn *pgx.Conn, c *query.Catalog, name string, values map[string]any, opts output.Options) string {
	t.Helper()
	q, err := c.Lookup(name, "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := query.Run(ctx(t), conn, q, values, &buf, opts); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// sampleBars are the parameters of the sample data's 1m bars of ESH1.
func sampleBars() map[string]any {
	return map[string]any{"dataset": "GLBX.MDP3", "symbols": "ESH1,5482", "start_ts": "2020-12-28", "end_ts": "2020-12-28"}
}

func TestFormatsGolden(t *testing.T) {
	url, _ := querytest.Migrated(t)
	conn := connect(t, url)
	c := catalog(t, "")
	for _, f := range []output.Format{output.Table, output.CSV, output.TSV, output.JSON, output.NDJSON} {
		got := run(t, conn, c, "SymbolBars1m", sampleBars(), output.Options{Format: f})
		golden(t, "bars_1m."+string(f), got)
	}
	// Other queries, one format each.
	golden(t, "trades.csv", run(t, conn, c, "SymbolTrades", map[string]any{"dataset": "GLBX.MDP3", "symbols": "ESH1", "start_ts": "2020-12-28", "end_ts": "2020-12-28"}, output.Options{Format: output.CSV}))
	golden(t, "tbbo.ndjson", run(t, conn, c, "SymbolTbbo", map[string]any{"dataset": "GLBX.MDP3", "symbols": "ESH1", "start_ts": "2020-12-28", "end_ts": "2020-12-28"}, output.Options{Format: output.NDJSON}))
	golden(t, "definitions.csv", run(t, conn, c, "SymbolDefinitions", map[string]any{"dataset": "XNAS.ITCH", "symbols": "MSFT", "start_ts": "2021-10-04", "end_ts": "2021-10-05"}, output.Options{Format: output.CSV}))
	golden(t, "statistics.csv", run(t, conn, c, "Statistics", map[string]any{"dataset": "GLBX.MDP3", "instrument_ids": "146945", "start_ts": "2023-04-23", "end_ts": "2023-04-23", "row_limit": "10"}, output.Options{Format: output.CSV}))
	golden(t, "bars_1m_chicago.csv", run(t, conn, c, "SymbolBars1m", sampleBars(), output.Options{Format: output.CSV, Location: mustZone(t, "America/Chicago")}))
	golden(t, "bars_1m_raw.csv", run(t, conn, c, "SymbolBars1m", sampleBars(), output.Options{Format: output.CSV, Raw: true}))

	// Parquet: read the file back and compare its schema and rows.
	var buf bytes.Buffer
	q, _ := c.Lookup("SymbolBars1m", "")
	if _, err := query.Run(ctx(t), conn, q, sampleBars(), &buf, output.Options{Format: output.Parquet}); err != nil {
		t.Fatal(err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var pq strings.Builder
	fmt.Fprintln(&pq, tbl.Schema())
	for i := 0; i < int(tbl.NumCols()); i++ {
		col := tbl.Column(i)
		for _, ch := range col.Data().Chunks() {
			fmt.Fprintf(&pq, "%s: %v\n", col.Name(), ch)
		}
	}
	golden(t, "bars_1m.parquet.txt", pq.String())
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestContinuousAcrossRoll(t *testing.T) {
	url := querytest.Empty(t)
	pool := pgtest.Connect(t, url)
	querytest.Roll(t, pool)
	conn := connect(t, url)
	c := catalog(t, "")
	q, _ := c.Lookup("SymbolBars1d", "")
	p, err := query.Prepare(ctx(t), conn, q)
	if err != nil {
		t.Fatal(err)
	}
	args, err := p.Bind(map[string]any{"dataset": "GLBX.MDP3", "symbols": "ES.c.0", "start_ts": "2024-03-10", "end_ts": "2024-03-20"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := p.Rows(ctx(t), args)
	if err != nil {
		t.Fatal(err)
	}
	type bar struct {
		symbol, raw string
		id, ts      int64
		close       *int64
	}
	var got []bar
	for rows.Next() {
		var b bar
		var o, h, l *int64
		var v int64
		if err := rows.Scan(&b.symbol, &b.id, &b.raw, &b.ts, &o, &h, &l, &b.close, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(got) != 11 {
		t.Fatalf("got %d bars for 2024-03-10..20, want 11 (one a day, no gap, no overlap): %+v", len(got), got)
	}
	for i, b := range got {
		day := time.Unix(0, b.ts).UTC()
		if want := time.Date(2024, 3, 10+i, 0, 0, 0, 0, time.UTC); !day.Equal(want) {
			t.Fatalf("bar %d is for %s, want %s (gap or overlap)", i, day, want)
		}
		wantID, wantRaw, base := int64(100), "ESH4", int64(5000)
		if !day.Before(time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)) {
			wantID, wantRaw, base = 200, "ESM4", 6000
		}
		if b.symbol != "ES.c.0" || b.id != wantID || b.raw != wantRaw || *b.close != (base+int64(day.Day()))*1e9 {
			t.Errorf("%s: got %s %d %s close %d, want ES.c.0 %d %s close %d", day.Format("2006-01-02"), b.symbol, b.id, b.raw, *b.close, wantID, wantRaw, (base+int64(day.Day()))*1e9)
		}
	}
	// The same through ResolveSymbols, and the parent/raw path.
	out := run(t, conn, c, "ResolveSymbols", map[string]any{"dataset": "GLBX.MDP3", "symbols": "ES.c.0", "start_ts": "2024-03-14", "end_ts": "2024-03-15"}, output.Options{Format: output.CSV})
	if want := "symbol,day,instrument_id,raw_symbol\nES.c.0,2024-03-14,100,ESH4\nES.c.0,2024-03-15,200,ESM4\n"; out != want {
		t.Errorf("ResolveSymbols:\n%s\nwant\n%s", out, want)
	}
}

func TestInjectionIsBound(t *testing.T) {
	url, pool := querytest.Migrated(t)
	conn := connect(t, url)
	c := catalog(t, "")
	evil := "x'; DROP TABLE trades; --"
	out := run(t, conn, c, "SymbolTrades", map[string]any{"dataset": evil, "symbols": evil + ",ESH1", "start_ts": "2020-12-28", "end_ts": "2020-12-28"}, output.Options{Format: output.CSV})
	if strings.Count(out, "\n") != 1 {
		t.Errorf("injected dataset matched rows: %q", out)
	}
	q, _ := c.Lookup("Coverage", "")
	if _, err := query.Run(ctx(t), conn, q, map[string]any{"table_name": "trades' OR '1'='1"}, io.Discard, output.Options{}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM trades").Scan(&n); err != nil || n == 0 {
		t.Fatalf("trades table damaged: %d rows, %v", n, err)
	}
}

func TestParamErrors(t *testing.T) {
	url := querytest.Empty(t)
	conn := connect(t, url)
	c := catalog(t, "")
	q, _ := c.Lookup("SymbolBars1d", "")
	p, err := query.Prepare(ctx(t), conn, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"dataset": "D", "symbols": "ES", "start_ts": "2024-13-01", "end_ts": "2024-01-02"}, "--param start_ts=2024-13-01: not a time (want YYYY-MM-DD, RFC 3339, today, yesterday, now, or -30d, -2w, -6mo, -1y, -12h)"},
		{map[string]any{"dataset": "D"}, "needs --param for symbols (text[]), start_ts (timestamptz), end_ts (timestamptz) (or -s/--symbols for symbols, --start for start_ts, --end for end_ts)"},
		{map[string]any{"dataset": "D", "symbols": "ES", "start_ts": "2024-01-01", "end_ts": "2024-01-02", "bogus": "1"}, "has no parameter bogus"},
		{map[string]any{"dataset": "D", "symbols": "ES", "start_ts": "2024-01-01", "end_ts": "2024-01-02", "row_limit": "ten"}, "--param row_limit=ten: not an integer"},
	} {
		_, err := p.Bind(tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Bind(%v) = %v, want %q", tc.values, err, tc.want)
		}
	}
	// A date-only end includes the day.
	args, err := p.Bind(map[string]any{"dataset": "D", "symbols": "ES", "start_ts": "2024-01-01", "end_ts": "2024-01-31"})
	if err != nil {
		t.Fatal(err)
	}
	if got := args[len(args)-1]; got != nil {
		for i, prm := range p.Params {
			if prm.Name == "end_ts" && !args[i].(time.Time).Equal(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("end_ts=2024-01-31 bound %v, want 2024-02-01", args[i])
			}
		}
	}
	if _, err := query.PickDataset(ctx(t), conn, "GLBX.MDP3", []string{"ESH4"}); err == nil || !strings.Contains(err.Error(), "unknown symbol in dataset GLBX.MDP3: ESH4; GLBX.MDP3 holds no symbols") {
		t.Errorf("PickDataset: %v", err)
	}
}

func TestUnknownSymbolSuggests(t *testing.T) {
	url := querytest.Empty(t)
	pool := pgtest.Connect(t, url)
	querytest.Roll(t, pool)
	conn := connect(t, url)
	_, err := query.PickDataset(ctx(t), conn, "GLBX.MDP3", []string{"ES.c.0", "ESH5", "ES.c.O"})
	if err == nil {
		t.Fatal("no error for unknown symbols")
	}
	for _, want := range []string{"unknown symbols in dataset GLBX.MDP3: ES.c.O (did you mean ES.c.0 in GLBX.MDP3?); ESH5 (did you mean ESH4, ESM4 in GLBX.MDP3?)",
		"GLBX.MDP3 holds 3 symbols: ES.c.0, ESH4, ESM4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// paramError asserts that err is a ParamError of param whose message (its
// Refs written as query parameters) holds want.
func paramError(t *testing.T, err error, param string, notFound bool, want string) {
	t.Helper()
	var pe *query.ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("want a ParamError of %s saying %q, got %v", param, want, err)
	}
	if msg := pe.Text(query.QueryParam); pe.Param != param || pe.NotFound != notFound || !strings.Contains(msg, want) {
		t.Errorf("got %s (not found: %v): %s\nwant %s (not found: %v): ...%s...", pe.Param, pe.NotFound, msg, param, notFound, want)
	}
}

// TestDatasetFromTheSymbols: in a database of two datasets, a request
// without a dataset goes to the one where its symbols name something; it
// asks for the dataset only when that is really ambiguous, and says where
// each symbol is when the symbols name nothing together.
func TestDatasetFromTheSymbols(t *testing.T) {
	url, pool := querytest.Datasets(t)
	conn := connect(t, url)
	for _, tc := range []struct {
		symbols []string
		want    string
	}{
		{[]string{"ES.c.0"}, "GLBX.MDP3"},
		{[]string{"ES.FUT", "ESH4", "5482"}, "GLBX.MDP3"},
		{[]string{"ESH1"}, "GLBX.MDP3"},
		{[]string{"MSFT"}, "XNAS.ITCH"},
		{[]string{"MSFT", "6819"}, "XNAS.ITCH"},               // an instrument id of MSFT's mappings
		{[]string{"MSFT", "123456"}, "XNAS.ITCH"},             // an id that names nothing fits any dataset
		{[]string{"NQ.c.0", "NQ.c.0", "ES.c.0"}, "GLBX.MDP3"}, // twice is once
	} {
		got, err := query.PickDataset(ctx(t), conn, "", tc.symbols)
		if err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %s", tc.symbols, got, err, tc.want)
		}
	}
	_, err := query.PickDataset(ctx(t), conn, "", []string{"MSFT", "ESH4"})
	paramError(t, err, "symbols", false, "no dataset holds them all (ESH4 in GLBX.MDP3; MSFT in XNAS.ITCH)")
	_, err = query.PickDataset(ctx(t), conn, "", []string{"123456"})
	paramError(t, err, "dataset", false, "123456 names no instrument in the mappings or definitions of any dataset, and the database holds several (GLBX.MDP3, XNAS.ITCH): pick one with dataset=")
	_, err = query.PickDataset(ctx(t), conn, "", []string{"ESH5", "MSFX"})
	paramError(t, err, "symbols", true, "unknown symbols ESH5 (did you mean ESH1, ESH4, ESM4 in GLBX.MDP3?); MSFX (did you mean MSFT in XNAS.ITCH?)")
	_, err = query.PickDataset(ctx(t), conn, "GLBX.MDP3", []string{"ES.c.0", "MSFT"})
	paramError(t, err, "symbols", true, "unknown symbol in dataset GLBX.MDP3: MSFT (it is in XNAS.ITCH); GLBX.MDP3 holds 9 symbols")
	if got, err := query.PickDataset(ctx(t), conn, "XNAS.ITCH", []string{"MSFT", "42"}); err != nil || got != "XNAS.ITCH" {
		t.Errorf("asked for XNAS.ITCH: %q, %v", got, err)
	}

	// A symbol of both datasets is ambiguous: the error lists them.
	if _, err := pool.Exec(ctx(t), `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
		VALUES ('XNAS.ITCH', 'raw_symbol', 'ESH1', 'instrument_id', '777', '2021-10-04', '2021-10-05', 'test')`); err != nil {
		t.Fatal(err)
	}
	_, err = query.PickDataset(ctx(t), conn, "", []string{"ESH1"})
	paramError(t, err, "dataset", false, "ESH1 names something in several datasets (GLBX.MDP3, XNAS.ITCH): pick one with dataset=")
	if got, err := query.PickDataset(ctx(t), conn, "", []string{"ESH1", "ESH4"}); err != nil || got != "GLBX.MDP3" {
		t.Errorf("ESH1 with ESH4 (only in GLBX.MDP3): %q, %v", got, err)
	}
}

// TestParentSymbolNamesEveryContract: on the demo data, ES.FUT names both
// ES contracts while the March one is listed and the June one after; every
// row carries ES.FUT and the real contract.
func TestParentSymbolNamesEveryContract(t *testing.T) {
	url, _ := querytest.Datasets(t)
	conn := connect(t, url)
	sq, err := query.SymbolRequest{Kind: "resolve", Symbols: []string{"ES.FUT"}, Start: "2024-03-14", End: "2024-03-18"}.Plan(catalog(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	q, err := sq.Resolved(ctx(t), conn)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := query.Run(ctx(t), conn, q, sq.Values, &buf, output.Options{Format: output.CSV}); err != nil {
		t.Fatal(err)
	}
	want := "symbol,day,instrument_id,raw_symbol\n" +
		"ES.FUT,2024-03-14,1002,ESM4\nES.FUT,2024-03-14,5482,ESH4\n" +
		"ES.FUT,2024-03-15,1002,ESM4\nES.FUT,2024-03-15,5482,ESH4\n" +
		"ES.FUT,2024-03-16,1002,ESM4\nES.FUT,2024-03-17,1002,ESM4\nES.FUT,2024-03-18,1002,ESM4\n"
	if buf.String() != want {
		t.Errorf("ES.FUT resolves to\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestUserOverride(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.sql"), []byte("-- Coverage: overridden.\n-- @param n integer \"how many\"\n-- name: Coverage :many\nSELECT g AS n, '@not_a_param' AS s, 'x'::text AS t FROM generate_series(1, @n) g;\n"), 0o644)
	c := catalog(t, dir)
	q, err := c.Lookup("Coverage", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(q.Source, "mine.sql") || q.Description != "overridden." || len(q.Params) != 1 || q.Params[0].Type != "integer" {
		t.Fatalf("override not used: %+v", q)
	}
	url := querytest.Empty(t)
	conn := connect(t, url)
	out := run(t, conn, c, "Coverage", map[string]any{"n": "2"}, output.Options{Format: output.CSV})
	if out != "n,s,t\n1,@not_a_param,x\n2,@not_a_param,x\n" {
		t.Errorf("got %q", out)
	}
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT @a, @b::int, @a", "SELECT $1, $2::int, $1"},
		{"SELECT sqlc.arg(x), sqlc.narg('y')::text, @x", "SELECT $1, $2::text, $1"},
		{"SELECT '@a', \"@b\", E'\\'@c', $$ @d $$, $t$ @e $t$ -- @f\n/* @g /* @h */ */ x", "SELECT '@a', \"@b\", E'\\'@c', $$ @d $$, $t$ @e $t$ -- @f\n/* @g /* @h */ */ x"},
		{"SELECT a @> b, a <@ b, a @@ b, @ -5, x::int", "SELECT a @> b, a <@ b, a @@ b, @ -5, x::int"},
		{"WHERE ts >= @start AND ts < @end AND $1 = 1", "WHERE ts >= $1 AND ts < $2 AND $1 = 1"},
	} {
		got, _, _, err := query.Rewrite(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Rewrite(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, _, _, err := query.Rewrite("SELECT 'open"); err == nil {
		t.Error("unterminated string accepted")
	}
}

func TestEveryBuiltinPrepares(t *testing.T) {
	url := querytest.Empty(t)
	conn := connect(t, url)
	c := catalog(t, "")
	for _, q := range c.Queries() {
		if q.Command == ":copyfrom" {
			continue
		}
		if q.Description == "" {
			t.Errorf("%s (%s) has no description comment", q.Name, q.Source)
		}
		if _, err := query.Prepare(ctx(t), conn, q); err != nil {
			t.Errorf("%s: %v", q.Name, err)
		}
	}
}

// TestStreamingMemory writes 1M rows in the streaming formats and checks
// the heap stays bounded. A soft memory limit under the bound makes the
// collector keep up on a busy machine, so what is measured is what the
// writer holds, not garbage it has not collected yet.
func TestStreamingMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(48 << 20))
	url := pgtest.NewDB(t)
	conn := connect(t, url)
	const sql = `SELECT 'ES.c.0'::text AS symbol, g::bigint AS instrument_id, 'ESH4'::text AS raw_symbol,
		1704067200000000000 + g * 60000000000 AS ts_event, 4780250000000 + g AS open, 4781000000000::bigint AS high,
		4779000000000::bigint AS low, 4780500000000::bigint AS close, g AS volume, now() AS loaded
		FROM generate_series(1, 1000000) g`
	for _, f := range []output.Format{output.CSV, output.NDJSON, output.Parquet} {
		runtime.GC()
		var peak uint64
		done := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
		}()
		rows, err := conn.Query(ctx(t), sql, output.ResultFormats)
		if err != nil {
			t.Fatal(err)
		}
		n, err := output.Write(io.Discard, rows, output.Options{Format: f})
		close(done)
		if err != nil || n != 1000000 {
			t.Fatalf("%s: %d rows, %v", f, n, err)
		}
		const bound = 96 << 20
		t.Logf("%s: 1M rows, peak HeapInuse %d MiB", f, peak>>20)
		if peak > bound {
			t.Errorf("%s: HeapInuse peaked at %d MiB writing 1M rows (bound %d MiB): not streaming", f, peak>>20, bound>>20)
		}
	}
}
