package main

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/query/querytest"
)

func TestQueryCommands(t *testing.T) {
	url, pool := querytest.Migrated(t)
	querytest.Roll(t, pool)
	env := map[string]string{"DATABASE_URL": url}

	// A convenience command: continuous symbol across the roll, csv to a file.
	out := filepath.Join(t.TempDir(), "bars.csv")
	code, stdout, stderr := runCLI(t, env, "query", "bars", "-s", "ES.c.0", "--interval", "1d", "--dataset", "GLBX.MDP3",
		"--start", "2024-03-14", "--end", "2024-03-15", "--format", "csv", "--output", out)
	if code != 0 || stdout != "" {
		t.Fatalf("bars: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	got, _ := os.ReadFile(out)
	want := "symbol,instrument_id,raw_symbol,ts_event,open,high,low,close,volume\n" +
		"ES.c.0,100,ESH4,2024-03-14T00:00:00.000000000Z,5014.000000000,5015.000000000,5013.000000000,5014.000000000,10\n" +
		"ES.c.0,200,ESM4,2024-03-15T00:00:00.000000000Z,6015.000000000,6016.000000000,6014.000000000,6015.000000000,10\n"
	if string(got) != want {
		t.Errorf("bars csv:\n%s\nwant:\n%s", got, want)
	}

	// Unknown symbol: an error with suggestions, nothing on stdout.
	code, stdout, stderr = runCLI(t, env, "query", "trades", "-s", "ESH5", "--dataset", "GLBX.MDP3", "--start", "2024-03-14", "--end", "2024-03-15")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "did you mean ESH1, ESH4") {
		t.Errorf("unknown symbol: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}

	// Any query by name, with --param; injection attempts are bound.
	code, stdout, stderr = runCLI(t, env, "query", "SymbolTrades", "--param", "dataset=GLBX.MDP3", "--param", "symbols=x'; DROP TABLE trades; --",
		"--param", "start_ts=2020-12-28", "--param", "end_ts=2020-12-28", "--format", "ndjson")
	if code != 0 || stdout != "" {
		t.Errorf("injection: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, env, "query", "SymbolStatistics", "--param", "dataset=GLBX.MDP3", "--param", "symbols=146945",
		"--param", "start_ts=2023-04-23", "--param", "end_ts=2023-04-23", "--format", "csv")
	if code != 0 || !strings.HasPrefix(stdout, "symbol,instrument_id") || strings.Count(stdout, "\n") != 3 {
		t.Errorf("SymbolStatistics: exit %d\n%s", code, stdout)
	}
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM trades").Scan(&n); err != nil || n == 0 {
		t.Fatalf("trades damaged: %d, %v", n, err)
	}

	// A bad parameter value: one line, usage... (exit 1: it is the query's error).
	code, _, stderr = runCLI(t, env, "query", "SymbolBars1d", "--param", "dataset=X", "--param", "symbols=ES", "--param", "start_ts=2024-13-01", "--param", "end_ts=2024-01-01")
	if code == 0 || !strings.Contains(stderr, "--param start_ts=2024-13-01: not a time (want YYYY-MM-DD, RFC 3339, today, yesterday, now, or -30d") {
		t.Errorf("bad date: exit %d, %s", code, stderr)
	}

	// User override and list.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.sql"), []byte("-- Runs: my own runs.\n-- name: Runs :many\nSELECT 1 AS one;\n"), 0o644)
	env["HDI_QUERIES_DIR"] = dir
	code, stdout, _ = runCLI(t, env, "query", "Runs", "--format", "csv")
	if code != 0 || stdout != "one\n1\n" {
		t.Errorf("override: exit %d %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, env, "query", "list")
	if code != 0 || !strings.Contains(stdout, "Runs") || !strings.Contains(stdout, "my own runs") ||
		!strings.Contains(stdout, "SymbolBars1m") || !strings.Contains(stdout, "symbols, start_ts, end_ts, row_limit?") {
		t.Errorf("list: exit %d\n%s", code, stdout)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if n := len([]rune(line)); n > 120 {
			t.Errorf("list line of %d characters: %s", n, line)
		}
	}
	code, stdout, _ = runCLI(t, env, "query", "list", "--format", "json")
	if code != 0 || !strings.Contains(stdout, `"name": "SymbolBars1m"`) || !strings.Contains(stdout, `"type": "timestamptz"`) || strings.Contains(stdout, `"type": ""`) {
		t.Errorf("list json: exit %d: every parameter must have its type", code)
	}
	_ = pgtest.EnvURL
}

// TestQueryReadsOnly: write statements are not offered, and a write that
// hides in a CTE still fails (the session is read-only).
func TestQueryReadsOnly(t *testing.T) {
	url, pool := querytest.Migrated(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "w.sql"), []byte("-- name: Wipe :exec\nDELETE FROM runs;\n\n-- name: Sneaky :many\nWITH x AS (DELETE FROM runs RETURNING 1) SELECT * FROM x;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "f.sql"), []byte("-- name: Fn :many\nSELECT pg_catalog.set_config('x.y', '1', false) AS v FROM (SELECT 1) s WHERE EXISTS (SELECT 1 FROM runs);\n"), 0o644)
	env := map[string]string{"DATABASE_URL": url, "HDI_QUERIES_DIR": dir}
	code, stdout, _ := runCLI(t, env, "query", "list")
	if code != 0 || strings.Contains(stdout, "Wipe") || strings.Contains(stdout, "Sneaky") || strings.Contains(stdout, "CopyTrades") || strings.Contains(stdout, "RecordUnit") {
		t.Errorf("list offers write statements:\n%s", stdout)
	}
	for _, name := range []string{"Wipe", "Sneaky", "CopyTrades", "FinishRun"} {
		code, _, stderr := runCLI(t, env, "query", name)
		if code == 0 || (!strings.Contains(stderr, "hdi query runs queries that read") && !strings.Contains(stderr, "no query named")) {
			t.Errorf("%s: exit %d: %s", name, code, stderr)
		}
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO runs (job) VALUES ('keep')`); err != nil {
		t.Fatal(err)
	}
	// A function with a side effect runs in a read-only session.
	os.WriteFile(filepath.Join(dir, "g.sql"), []byte("-- name: Ins :many\nSELECT * FROM (VALUES (1)) v(a) WHERE EXISTS (SELECT 1 FROM runs);\n"), 0o644)
	if code, _, stderr := runCLI(t, env, "query", "Ins"); code != 0 {
		t.Errorf("a read in a read-only session: %s", stderr)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs`); n != 1 {
		t.Errorf("runs has %d rows", n)
	}
}

// TestQueryRelativeDatesAndOptionalParams: queries take the same dates as
// ingest (relative ones too), and sqlc.narg parameters may be omitted.
func TestQueryRelativeDatesAndOptionalParams(t *testing.T) {
	url, pool := querytest.Migrated(t)
	if _, err := pool.Exec(t.Context(), `INSERT INTO runs (job) VALUES ('a'), ('b')`); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": url}
	if code, stdout, stderr := runCLI(t, env, "query", "Runs", "--format", "csv"); code != 0 || strings.Count(stdout, "\n") != 3 {
		t.Errorf("Runs without row_limit: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI(t, env, "query", "Runs", "--param", "row_limit=1", "--format", "csv"); code != 0 || strings.Count(stdout, "\n") != 2 {
		t.Errorf("Runs with row_limit=1: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{
		{"query", "SymbolBars1d", "--param", "dataset=GLBX.MDP3", "--param", "symbols=ES.c.0", "--param", "start_ts=-7d", "--param", "end_ts=today"},
		{"query", "bars", "-s", "ESH1", "--dataset", "GLBX.MDP3", "--interval", "1d", "--start", "-1y", "--end", "yesterday"},
	} {
		if code, _, stderr := runCLI(t, env, args...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}

// TestBarsBackAdjustedAcrossTheRoll loads the demo data (ES rolls from
// ESH4 to ESM4 on 2024-03-15) and checks back-adjusted daily closes against
// values worked out here from the two contracts' closes on 2024-03-14, the
// old contract's last day: ESH4 5130.00, ESM4 5157.25.
// demoEnv returns a migrated database holding the demo as `hdi dbn synth`
// writes it and `hdi ingest` loads it, and the CLI's environment for it.
func demoEnv(t *testing.T) (string, map[string]string) {
	t.Helper()
	url := pgtest.NewMigratedDB(t)
	env := ingestEnv(t, url)
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, env, "dbn", "synth", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runCLI(t, env, "ingest", "--provider", "databento", "--file", dir); code != 0 {
		t.Fatal(stderr)
	}
	return url, env
}

func TestBarsBackAdjustedAcrossTheRoll(t *testing.T) {
	url, env := demoEnv(t)
	closes := func(adjust string) map[string]string {
		t.Helper()
		code, stdout, stderr := runCLI(t, env, "query", "bars", "-s", "ES.c.0", "--interval", "1d", "--start", "2024-03-12", "--end", "2024-03-19",
			"--adjust", adjust, "--format", "csv")
		if code != 0 {
			t.Fatalf("--adjust %s: exit %d: %s", adjust, code, stderr)
		}
		out := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
			f := strings.Split(line, ",")
			out[f[3][:10]] = f[7] // ts_event's day -> close
		}
		return out
	}
	raw := closes("none")
	want := map[string]string{ // ESH4 before the roll, ESM4 from it
		"2024-03-12": "5133.250000000", "2024-03-13": "5120.500000000", "2024-03-14": "5130.000000000",
		"2024-03-15": "5166.500000000", "2024-03-18": "5178.750000000", "2024-03-19": "5194.500000000",
	}
	if fmt.Sprint(raw) != fmt.Sprint(want) {
		t.Fatalf("raw closes %v, want %v", raw, want)
	}
	// Difference: add 5157.25 - 5130.00 = 27.25 before the roll.
	wantDiff := map[string]string{
		"2024-03-12": "5160.500000000", "2024-03-13": "5147.750000000", "2024-03-14": "5157.250000000",
		"2024-03-15": "5166.500000000", "2024-03-18": "5178.750000000", "2024-03-19": "5194.500000000",
	}
	if got := closes("difference"); fmt.Sprint(got) != fmt.Sprint(wantDiff) {
		t.Errorf("difference: %v\nwant %v", got, wantDiff)
	}
	// Ratio: multiply by 5157.25 / 5130 before the roll, to the nearest 1e-9.
	ratio := new(big.Rat).Quo(decimalRat(t, "5157.25"), decimalRat(t, "5130"))
	wantRatio := map[string]string{}
	for day, c := range want {
		if day >= "2024-03-15" {
			wantRatio[day] = c
			continue
		}
		v := new(big.Rat).Mul(decimalRat(t, c), ratio)
		wantRatio[day] = v.FloatString(9)
	}
	if got := closes("ratio"); fmt.Sprint(got) != fmt.Sprint(wantRatio) {
		t.Errorf("ratio: %v\nwant %v", got, wantRatio)
	}

	// Not a continuous symbol, and a roll without daily bars: one line each.
	code, _, stderr := runCLI(t, env, "query", "bars", "-s", "ES.FUT", "--start", "2024-03-12", "--end", "2024-03-19", "--adjust", "ratio")
	if code != 2 || !strings.Contains(stderr, `--adjust: back-adjusts continuous symbols (ES.c.0, CL.v.1); "ES.FUT" is not one`) {
		t.Errorf("parent symbol: exit %d: %s", code, stderr)
	}
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(t.Context(), `DELETE FROM ohlcv_1d WHERE instrument_id = 1002`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, env, "query", "bars", "-s", "ES.c.0", "--interval", "1m", "--start", "2024-03-14", "--end", "2024-03-15", "--adjust", "difference")
	if code != 1 || !strings.Contains(stderr, "ES.c.0 rolls from ESH4 to ESM4 on 2024-03-15, but ohlcv_1d has no daily bar of both around it") {
		t.Errorf("missing daily bars: exit %d: %s", code, stderr)
	}
}

func decimalRat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("not a decimal: %q", s)
	}
	return r
}

// TestSymbolQueriesAcrossTwoDatasets loads the demo and Databento's samples
// (GLBX.MDP3 and XNAS.ITCH) as the docs do: symbol queries need no
// --dataset where their symbols name something in one dataset, the README's
// symbols (ES.c.0, ES.FUT, ESH4, 5482) all work on the demo, errors name
// flags, and a result without rows says so on stderr.
func TestSymbolQueriesAcrossTwoDatasets(t *testing.T) {
	url := pgtest.NewMigratedDB(t)
	env := ingestEnv(t, url)
	dir := t.TempDir()
	mustRun(t, env, "dbn", "synth", "--out", dir)
	mustRun(t, env, "ingest", "--provider", "databento", "--file", dir)
	mustRun(t, env, "ingest", "--provider", "databento", "--file", querytest.SampleDir(t))

	csv := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, env, append(append([]string{"query"}, args...), "--format", "csv")...)
		if code != 0 || stderr != "" {
			t.Fatalf("hdi query %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}
	bars := csv("bars", "-s", "ES.c.0", "--interval", "1d", "--start", "2024-03-14", "--end", "2024-03-15")
	if !strings.Contains(bars, "\nES.c.0,5482,ESH4,2024-03-14T") || !strings.Contains(bars, "\nES.c.0,1002,ESM4,2024-03-15T") {
		t.Errorf("ES.c.0 across the roll:\n%s", bars)
	}
	// The parent names both contracts on the March expiry day, each row the real contract.
	trades := csv("trades", "-s", "ES.FUT", "--start", "2024-03-15", "--end", "2024-03-15")
	if !strings.Contains(trades, "\nES.FUT,5482,ESH4,") || !strings.Contains(trades, "\nES.FUT,1002,ESM4,") {
		t.Errorf("ES.FUT trades on 2024-03-15 lack a contract:\n%.600s", trades)
	}
	// 5482 is ESH4 in March 2024 and ESH1 (the samples) in December 2020.
	bars = csv("bars", "-s", "ESH4,5482", "--interval", "1d", "--start", "2024-03-15", "--end", "2024-03-15")
	if !strings.Contains(bars, "\n5482,5482,ESH4,2024-03-15T") || !strings.Contains(bars, "\nESH4,5482,ESH4,2024-03-15T") {
		t.Errorf("ESH4 and 5482:\n%s", bars)
	}
	if trades = csv("trades", "-s", "5482", "--start", "2020-12-28", "--end", "2020-12-28"); strings.Count(trades, "\n5482,5482,ESH1,") != 2 {
		t.Errorf("5482 in 2020:\n%s", trades)
	}
	if defs := csv("definitions", "-s", "MSFT", "--start", "2021-10-04", "--end", "2021-10-05"); strings.Count(defs, "\nMSFT,") != 2 {
		t.Errorf("MSFT definitions (XNAS.ITCH):\n%s", defs)
	}

	// No rows: the header on stdout, a note on stderr with where the data is.
	code, stdout, stderr := runCLI(t, env, "query", "bars", "-s", "ES.c.0", "--start", "2024-01-01", "--end", "2024-01-31", "--format", "csv")
	if code != 0 || stdout != "symbol,instrument_id,raw_symbol,ts_event,open,high,low,close,volume\n" ||
		stderr != "hdi: no rows for ES.c.0 in 2024-01-01..2024-01-31; ohlcv_1d has rows of ES.c.0 on 2024-03-11..2024-03-22\n" {
		t.Errorf("no rows: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, env, "query", "tbbo", "-s", "ESH4", "--start", "2024-03-14", "--end", "2024-03-14")
	if code != 0 || stderr != "hdi: no rows for ESH4 in 2024-03-14..2024-03-14; tbbo of GLBX.MDP3 has no rows of ESH4 on any day\n" {
		t.Errorf("no tbbo: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, env, "query", "SymbolTrades", "--param", "dataset=GLBX.MDP3", "--param", "symbols=ESH4",
		"--param", "start_ts=2024-01-01", "--param", "end_ts=2024-01-02")
	if code != 0 || stderr != "hdi: no rows\n" {
		t.Errorf("no rows by name: exit %d, stderr %q", code, stderr)
	}

	// Errors: where each symbol is, and flags, never query parameters.
	code, _, stderr = runCLI(t, env, "query", "bars", "-s", "MSFT", "--dataset", "GLBX.MDP3", "--start", "2024-03-14", "--end", "2024-03-14")
	if code != 1 || !strings.Contains(stderr, "--symbols (-s): unknown symbol in dataset GLBX.MDP3: MSFT (it is in XNAS.ITCH)") {
		t.Errorf("MSFT in GLBX.MDP3: exit %d: %s", code, stderr)
	}
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(t.Context(), `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
		VALUES ('XNAS.ITCH', 'raw_symbol', 'ESH4', 'instrument_id', '777', '2024-03-14', '2024-03-15', 'test')`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, env, "query", "trades", "-s", "ESH4", "--start", "2024-03-14", "--end", "2024-03-14")
	if code != 2 || !strings.Contains(stderr, "--dataset: ESH4 names something in several datasets (GLBX.MDP3, XNAS.ITCH): pick one with --dataset\n") || strings.Contains(stderr, "=") {
		t.Errorf("ESH4 in two datasets: exit %d: %s", code, stderr)
	}
	if got := csv("trades", "-s", "ESH4", "--dataset", "GLBX.MDP3", "--start", "2024-03-14", "--end", "2024-03-14", "--limit", "1"); strings.Count(got, "\n") != 2 {
		t.Errorf("ESH4 with --dataset:\n%s", got)
	}
}

// TestAnalyticsOnTheDemo runs the analytics as a user does, on the demo:
// resampled bars (--interval 4h, rolled up from the demo's one-minute
// bars), a bad interval naming the flag, and the session and roll queries
// by name. Their values are checked against Go loops in internal/query;
// here, that the CLI serves them and a few figures the docs quote.
func TestAnalyticsOnTheDemo(t *testing.T) {
	_, env := demoEnv(t)
	code, stdout, stderr := runCLI(t, env, "query", "bars", "-s", "ES.c.0", "--interval", "4h", "--start", "2024-03-14", "--end", "2024-03-14", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// 2024-03-14 has minutes 00:00-21:00 and 22:00-24:00 UTC: six 4-hour buckets.
	if code != 0 || len(lines) != 7 || !strings.HasPrefix(lines[0], "symbol,instrument_id,raw_symbol,ts_event,open,high,low,close,volume,bar_count") ||
		!strings.Contains(lines[1], ",2024-03-14T00:00:00.000000000Z,") || !strings.HasSuffix(lines[1], ",240") {
		t.Errorf("--interval 4h: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, env, "query", "bars", "-s", "ES.c.0", "--interval", "2x", "--start", "2024-03-14", "--end", "2024-03-14")
	if first, _, _ := strings.Cut(stderr, "\n"); code != 2 || !strings.HasPrefix(first, `hdi: --interval: unknown interval "2x" (want 1s,`) {
		t.Errorf("--interval 2x: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI(t, env, "query", "RollCalendar", "--param", "dataset=GLBX.MDP3", "--param", "symbols=ES.c.0",
		"--param", "start_ts=2024-03-15", "--param", "end_ts=2024-03-22", "--format", "csv")
	if code != 0 || !strings.Contains(stdout, "ES.c.0,2024-03-15,ESH4,ESM4,") || !strings.Contains(stdout, ",5130.000000000,2024-03-14,5157.250000000,27.250000000,,,") {
		t.Errorf("RollCalendar: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, env, "query", "SessionBars", "--param", "dataset=GLBX.MDP3", "--param", "symbols=ES.c.0",
		"--param", "start_ts=2024-03-14", "--param", "end_ts=2024-03-14", "--format", "csv", "--tz", "America/Chicago")
	if code != 0 || !strings.Contains(stdout, "2024-03-13T17:00:00.000000000-05:00,ES.c.0,ETH,2024-03-14,2024-03-14T17:00:00.000000000-05:00,5482,ESH4,") ||
		!strings.Contains(stdout, "2024-03-14T08:30:00.000000000-05:00,ES.c.0,RTH,2024-03-14,2024-03-14T15:15:00.000000000-05:00,5482,ESH4,") {
		t.Errorf("SessionBars: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestQueryListChart: hdi query list marks a query's -- @chart annotation
// before its description, and leaves an unannotated one as it was.
func TestQueryListChart(t *testing.T) {
	qs, err := query.ParseFile("mine.sql", []byte("-- Sma: the average close. Of n bars.\n-- @chart overlay\n-- name: Sma :many\nSELECT 1;\n\n"+
		"-- Rsi: the RSI.\n-- @chart pane\n-- name: Rsi :many\nSELECT 1;\n\n-- Plain: nothing to draw.\n-- name: Plain :many\nSELECT 1;\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeQueryTable(&b, qs); err != nil {
		t.Fatal(err)
	}
	want := "NAME   PARAMETERS  DESCRIPTION\n" +
		"Sma                [chart overlay] the average close\n" +
		"Rsi                [chart pane] the RSI\n" +
		"Plain              nothing to draw\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestQuerySymbolFlags: hdi query NAME takes -s, --dataset, --start and
// --end for a query's symbols, dataset, start_ts and end_ts, with the same
// result as --param (an end date included, the dataset picked from the
// symbols); a flag the query has no parameter for, one that clashes with a
// --param, and --start without --end are usage errors.
func TestQuerySymbolFlags(t *testing.T) {
	url, pool := querytest.Migrated(t)
	querytest.Roll(t, pool)
	env := map[string]string{"DATABASE_URL": url}

	code, short, stderr := runCLI(t, env, "query", "Returns", "-s", "ES.c.0", "--start", "2024-03-14", "--end", "2024-03-15", "--format", "csv")
	// 03-14: ESH4 5013 -> 5014; 03-15, after the roll: ESM4 6014 -> 6015, not the gap from ESH4.
	want := "ts,symbol,simple_return,log_return\n2024-03-14T00:00:00.000000000Z,ES.c.0,"
	if code != 0 || !strings.HasPrefix(short, want) || strings.Count(short, "\n") != 3 {
		t.Fatalf("Returns -s --start --end: exit %d\n%s%s", code, short, stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(short), "\n")[1:] {
		f := strings.Split(line, ",")
		got[f[0][:10]] = f[2]
	}
	for day, r := range map[string]*big.Rat{"2024-03-14": big.NewRat(1, 5013), "2024-03-15": big.NewRat(1, 6014)} {
		g, ok := new(big.Rat).SetString(got[day])
		if d := new(big.Rat).Sub(g, r); !ok || new(big.Rat).Abs(d).Cmp(big.NewRat(1, 1e15)) > 0 {
			t.Errorf("simple_return of %s: %s, want %s", day, got[day], r.FloatString(18))
		}
	}
	code, long, stderr := runCLI(t, env, "query", "Returns", "--param", "symbols=ES.c.0", "--param", "dataset=GLBX.MDP3",
		"--param", "start_ts=2024-03-14", "--param", "end_ts=2024-03-15", "--format", "csv")
	if code != 0 || long != short {
		t.Errorf("the --param form: exit %d\n%s%s\nwant\n%s", code, long, stderr, short)
	}
	code, mixed, stderr := runCLI(t, env, "query", "RealizedVol", "-s", "ES.c.0", "--dataset", "GLBX.MDP3", "--start", "2024-03-10T00:00:00Z",
		"--end", "2024-03-20", "--param", "n=3", "--format", "csv")
	if code != 0 || strings.Count(mixed, "\n") != 12 || !strings.Contains(mixed, "2024-03-20T00:00:00.000000000Z,ES.c.0,") {
		t.Errorf("RealizedVol with flags and --param n: exit %d\n%s%s", code, mixed, stderr)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"Returns", "-s", "ES.c.0", "--param", "symbols=NQ.c.0", "--start", "2024-03-14", "--end", "2024-03-15"},
			"--symbols (-s) and --param symbols both set symbols: give one"},
		{[]string{"Returns", "-s", "ES.c.0", "--start", "2024-03-14", "--end", "2024-03-15", "--param", "end_ts=2024-03-16"},
			"--end and --param end_ts both set end_ts: give one"},
		{[]string{"Runs", "--start", "2024-03-14", "--end", "2024-03-15"}, "--start: query Runs has no start_ts parameter"},
		{[]string{"Returns", "-s", "ES.c.0", "--start", "2024-03-14"}, "--start and --end go together"},
		{[]string{"Returns", "-s", "ES.c.0", "--start", "2024-13-01", "--end", "2024-03-15"}, `--start "2024-13-01"`},
		{[]string{"Returns", "-s", "ES.c.0"}, "query Returns needs --param for start_ts (timestamptz), end_ts (timestamptz) (or --start for start_ts, --end for end_ts)"},
	} {
		code, stdout, stderr := runCLI(t, env, append([]string{"query"}, c.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("hdi query %v: exit %d, stdout %q, stderr %s; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
}
