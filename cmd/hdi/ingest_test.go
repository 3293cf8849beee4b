package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/bench"
	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/synth"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// ingestEnv is the environment of an in-process hdi pointed at url and at
// the freshly built plugins.
func ingestEnv(t *testing.T, url string) map[string]string {
	return map[string]string{"DATABASE_URL": url, "HDI_PLUGIN_PATH": testbin.Dir(t)}
}

func mustRun(t *testing.T, env map[string]string, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("hdi %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

func TestIngestDemoFilesEndToEnd(t *testing.T) {
	url := pgtest.NewDB(t)
	env := ingestEnv(t, url)
	dir := t.TempDir()
	paths, err := synth.WriteDemo(dir, synth.DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	// One command loads a directory of files of four schemas, each into its table.
	_, stderr := mustRun(t, env, "ingest", "--migrate", "--provider", "databento", "--file", dir)
	for _, table := range []string{"definition", "ohlcv_1d", "ohlcv_1m", "trades"} {
		if !strings.Contains(stderr, "rows into "+table) {
			t.Errorf("no run loaded %s:\n%s", table, stderr)
		}
	}
	pool := pgtest.Connect(t, url)
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != countRecords(t, paths[1]) {
		t.Fatalf("trades = %d", n)
	}
	// Continuous ES.c.0 resolves to the March contract before the roll and the June one after.
	for date, want := range map[string]int64{"2024-03-14": 5482, "2024-03-15": 1002} {
		if id := pgtest.Scalar[int64](t, pool, `SELECT instrument_id FROM resolve_symbol('GLBX.MDP3', 'ES.c.0', $1::date)`, date); id != want {
			t.Errorf("ES.c.0 on %s = %d, want %d", date, id, want)
		}
	}
	sum := pgtest.Checksum(t, pool, "trades")

	_, stderr = mustRun(t, env, "ingest", "--provider", "databento", "--file", paths[1])
	if !strings.Contains(stderr, "0 done, 1 skipped") {
		t.Fatalf("a re-run must skip the loaded file:\n%s", stderr)
	}
	_, stderr = mustRun(t, env, "ingest", "--force", "--provider", "databento", "--file", paths[1])
	if !strings.Contains(stderr, "1 done, 0 skipped") || pgtest.Checksum(t, pool, "trades") != sum {
		t.Fatalf("--force must reload to the same content:\n%s", stderr)
	}
	out, _ := mustRun(t, env, "runs", "list", "--format", "json")
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != len(paths)+2 {
		// one run per schema of the directory, then the re-run and the forced run
		t.Fatalf("runs list: %v %s", err, out)
	}
}

// TestIngestBigFileInParts: a file of 8 MiB or more loads as two units in
// parallel, to exactly what one unit loads; --param parts=3 gives three; a
// re-run skips them all; --force loads the file as one unit again; parts of
// a file loaded whole before are skipped.
func TestIngestBigFileInParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trades.dbn")
	if err := synth.WriteTrades(path, 200_000, false); err != nil { // 9.6 MB
		t.Fatal(err)
	}
	load := func(wantUnits string, args ...string) (*pgxpool.Pool, string) {
		t.Helper()
		url := pgtest.NewDB(t)
		_, stderr := mustRun(t, ingestEnv(t, url), append([]string{"ingest", "--migrate", "--provider", "databento", "--file", path}, args...)...)
		if !strings.Contains(stderr, wantUnits) {
			t.Fatalf("want %q:\n%s", wantUnits, stderr)
		}
		return pgtest.Connect(t, url), url
	}
	one, oneURL := load("1 done, 0 skipped", "--param", "parts=1")
	wantRows, wantSum := pgtest.Scalar[int64](t, one, `SELECT count(*) FROM trades`), pgtest.Checksum(t, one, "trades")
	wantMaps := pgtest.Scalar[int64](t, one, `SELECT count(*) FROM symbol_mappings`)
	if wantRows != 200_000 || wantMaps == 0 {
		t.Fatalf("one unit: %d rows, %d symbol mappings", wantRows, wantMaps)
	}
	if _, stderr := mustRun(t, ingestEnv(t, oneURL), "ingest", "--provider", "databento", "--file", path); !strings.Contains(stderr, "0 done, 2 skipped") {
		t.Fatalf("the parts of a file loaded whole must be skipped:\n%s", stderr)
	}
	for _, c := range []struct {
		units string
		args  []string
	}{{"2 done, 0 skipped", nil}, {"3 done, 0 skipped", []string{"--param", "parts=3", "--concurrency", "3"}}} {
		pool, url := load(c.units, c.args...)
		if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != wantRows || pgtest.Checksum(t, pool, "trades") != wantSum {
			t.Fatalf("%v: %d rows (want %d) or other content than one unit's", c.args, got, wantRows)
		}
		if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM symbol_mappings`); got != wantMaps {
			t.Errorf("%v: %d symbol mappings, want %d", c.args, got, wantMaps)
		}
		if c.args != nil {
			continue
		}
		env := ingestEnv(t, url)
		if _, stderr := mustRun(t, env, "ingest", "--provider", "databento", "--file", path); !strings.Contains(stderr, "0 done, 2 skipped") {
			t.Fatalf("a re-run must skip both parts:\n%s", stderr)
		}
		if _, stderr := mustRun(t, env, "ingest", "--force", "--provider", "databento", "--file", path); !strings.Contains(stderr, "1 done, 0 skipped") ||
			pgtest.Checksum(t, pool, "trades") != wantSum {
			t.Fatalf("--force reloads the file as one unit, to the same content:\n%s", stderr)
		}
	}
}

// TestIngestKilledMidFileResumesToACleanResult: SIGKILL while the parts of
// a big file load one after another; the re-run skips the committed parts,
// loads the rest, and the table equals a clean run's.
func TestIngestKilledMidFileResumesToACleanResult(t *testing.T) {
	bin := testbin.Dir(t)
	path := filepath.Join(t.TempDir(), "trades.dbn")
	if err := synth.WriteTrades(path, 400_000, false); err != nil { // 7 chunks of 65,536 records
		t.Fatal(err)
	}
	killAndResume(t, func(url string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, "hdi"), "ingest", "--migrate", "--provider", "databento", "--file", path,
			"--param", "parts=6", "--concurrency", "1")
		c.Env = append(os.Environ(), "DATABASE_URL="+url, "HDI_PLUGIN_PATH="+bin)
		return c
	}, nil)
}

// killAndResume runs cmdFor(url) to the end on a fresh database (the clean
// result), then on another one SIGKILLs it once two units are committed
// (beforeKilled, if set, runs just before it starts), runs it again, and
// checks that the re-run skipped units and that trades equals the clean
// result in row count and content.
func killAndResume(t *testing.T, cmdFor func(url string) *exec.Cmd, beforeKilled func()) {
	t.Helper()
	cleanURL := pgtest.NewDB(t)
	if out, err := cmdFor(cleanURL).CombinedOutput(); err != nil {
		t.Fatalf("clean run: %v\n%s", err, out)
	}
	clean := pgtest.Connect(t, cleanURL)
	wantRows, wantSum := pgtest.Scalar[int64](t, clean, `SELECT count(*) FROM trades`), pgtest.Checksum(t, clean, "trades")
	if wantRows == 0 {
		t.Fatal("the clean run loaded nothing")
	}

	url := pgtest.NewDB(t)
	if beforeKilled != nil {
		beforeKilled()
	}
	c := cmdFor(url)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Connect(t, url)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		var done int64
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM units WHERE status = 'done'`).Scan(&done)
		if done >= 2 {
			break
		}
		if time.Now().After(deadline) {
			c.Process.Kill()
			t.Fatal("the run never committed two units")
		}
	}
	plugins := bench.ChildPIDs(c.Process.Pid)
	if len(plugins) == 0 {
		t.Fatal("hdi runs no provider process mid-load")
	}
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	// No provider outlives hdi: each is gone within two seconds.
	for _, pid := range plugins {
		if !gone(pid, 2*time.Second) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("provider process %d still runs 2s after hdi was killed", pid)
		}
	}
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got >= wantRows {
		t.Fatalf("the kill came too late to test anything (%d rows of %d)", got, wantRows)
	}
	out, err := cmdFor(url).CombinedOutput()
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), " skipped (already loaded)") || strings.Contains(string(out), " 0 skipped") {
		t.Fatalf("the re-run should skip the units committed before the kill:\n%s", out)
	}
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != wantRows || pgtest.Checksum(t, pool, "trades") != wantSum {
		t.Fatalf("after kill and re-run: %d rows (a clean run has %d) or other content", got, wantRows)
	}
}

// TestIngestSameFileIntoAnotherTable: the ledger is per target table, so a
// file already loaded into trades still loads into another table (and a
// re-run skips it there too).
func TestIngestSameFileIntoAnotherTable(t *testing.T) {
	url := pgtest.NewDB(t)
	env := ingestEnv(t, url)
	file := filepath.Join(t.TempDir(), "t.dbn.zst")
	if err := synth.WriteTrades(file, 5000, true); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "ingest", "--migrate", "--provider", "databento", "--file", file)
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE my_trades (LIKE trades INCLUDING ALL)`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 done, 0 skipped", "0 done, 1 skipped"} {
		if _, stderr := mustRun(t, env, "ingest", "--provider", "databento", "--file", file, "--table", "my_trades"); !strings.Contains(stderr, want) {
			t.Fatalf("want %q:\n%s", want, stderr)
		}
	}
	if got, want := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM my_trades`), pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != want || got != 5000 {
		t.Fatalf("my_trades has %d rows, trades %d", got, want)
	}
}

// TestIngestReplaceRangeReloadsALoadedUnit: --mode replace-range deletes a
// loaded unit's range and loads it again (the default mode skips it), so rows
// lost from the table since come back, and none twice.
func TestIngestReplaceRangeReloadsALoadedUnit(t *testing.T) {
	url := pgtest.NewDB(t)
	env := ingestEnv(t, url)
	file := filepath.Join(t.TempDir(), "t.dbn.zst")
	if err := synth.WriteTrades(file, 5000, true); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "ingest", "--migrate", "--provider", "databento", "--file", file)
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(context.Background(), `DELETE FROM trades WHERE ctid IN (SELECT ctid FROM trades LIMIT 100)`); err != nil {
		t.Fatal(err)
	}
	if _, stderr := mustRun(t, env, "ingest", "--provider", "databento", "--file", file); !strings.Contains(stderr, "0 done, 1 skipped") {
		t.Fatalf("dedupe-append must skip the loaded unit:\n%s", stderr)
	}
	if _, stderr := mustRun(t, env, "ingest", "--provider", "databento", "--file", file, "--mode", "replace-range"); !strings.Contains(stderr, "1 done, 0 skipped") {
		t.Fatalf("replace-range must reload the loaded unit:\n%s", stderr)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 5000 {
		t.Fatalf("after replace-range: %d rows, want 5000", n)
	}
}

// TestIngestParamFlag: --param reaches the provider, and a malformed one is a
// usage error that names it.
func TestIngestParamFlag(t *testing.T) {
	env := ingestEnv(t, pgtest.NewDB(t))
	file := filepath.Join(t.TempDir(), "t.dbn")
	if err := synth.WriteTrades(file, 10, false); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, env, "ingest", "--provider", "databento", "--file", file, "--param", "parts")
	if code != 2 || !strings.Contains(errOut, `--param "parts": want KEY=VALUE`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI(t, env, "ingest", "--migrate", "--provider", "databento", "--file", file, "--param", "parts=0")
	if code == 0 || !strings.Contains(errOut, `hdi: --param parts: "0": want a whole number from 1 to 64`) {
		t.Fatalf("the provider must check the parameter: exit %d: %s", code, errOut)
	}
}

func countRecords(t *testing.T, path string) int64 {
	t.Helper()
	r, err := dbn.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int64
	for r.Next() {
		n++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestJobWithRulesQuarantines(t *testing.T) {
	url := pgtest.NewDB(t)
	env := ingestEnv(t, url)
	paths, err := synth.WriteDemo(t.TempDir(), synth.DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(t.TempDir(), "big-trades.yaml")
	body := fmt.Sprintf(`name: big-trades
provider:
  name: databento
source:
  schema: trades
  files: [%q]
rules:
  - name: small-size
    type: max
    field: size
    max: 18
    severity: error
  - name: buy-side
    type: one_of
    field: side
    values: [B]
    severity: warn
`, paths[1])
	if err := os.WriteFile(job, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr := mustRun(t, env, "ingest", "--migrate", "--job", job)
	pool := pgtest.Connect(t, url)
	quarantined := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM quarantine WHERE rule = 'small-size' AND (record->>'size')::int > 18`)
	loaded := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`)
	if quarantined == 0 || loaded+quarantined != countRecords(t, paths[1]) || pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades WHERE size > 18`) != 0 {
		t.Fatalf("quarantined %d, loaded %d", quarantined, loaded)
	}
	if pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades WHERE side = 'A'`) == 0 {
		t.Fatal("warn rows must still be loaded")
	}
	if !strings.Contains(stderr, fmt.Sprintf("%d quarantined", quarantined)) || !strings.Contains(stderr, "buy-side=") {
		t.Fatalf("summary:\n%s", stderr)
	}

	// The quarantine commands read what was rejected.
	out, _ := mustRun(t, env, "quarantine", "list", "--run", "1", "--limit", "100000", "--format", "json")
	var listed []struct {
		ID   int64  `json:"quarantine_id"`
		Rule string `json:"rule"`
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || int64(len(listed)) != quarantined || listed[0].Rule != "small-size" {
		t.Fatalf("quarantine list: %v %s", err, out)
	}
	out, _ = mustRun(t, env, "quarantine", "show", fmt.Sprint(listed[0].ID))
	if !strings.Contains(out, `"size"`) || !strings.Contains(out, `"ts_recv"`) {
		t.Fatalf("quarantine show must print the full record: %s", out)
	}
	out, _ = mustRun(t, env, "quarantine", "export", "--run", "1")
	if lines := strings.Count(out, "\n"); int64(lines) != quarantined {
		t.Fatalf("export wrote %d lines, want %d", lines, quarantined)
	}
	for _, args := range [][]string{{"quarantine", "export", "--run", "9999"}, {"quarantine", "list", "--run", "9999"}, {"quarantine", "retry", "--run", "9999"}} {
		if code, out, stderr := runCLI(t, env, args...); code != 1 || out != "" || !strings.Contains(stderr, "no run 9999: see `hdi runs list`") {
			t.Errorf("%v: exit %d, stdout %q, stderr %s", args, code, out, stderr)
		}
	}

	// Relax the rule, retry: every row is loaded once and marked retried.
	if err := os.WriteFile(job, []byte(strings.Replace(body, "max: 18", "max: 100", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr = mustRun(t, env, "quarantine", "retry", "--run", "1", "--job", job)
	if !strings.Contains(stderr, fmt.Sprintf("%d loaded", quarantined)) {
		t.Fatalf("retry: %s", stderr)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != countRecords(t, paths[1]) {
		t.Fatalf("after retry trades = %d", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM quarantine WHERE retried_at IS NULL`); n != 0 {
		t.Fatalf("%d quarantined rows not marked retried", n)
	}
	// The run's counts follow the retry.
	if q, ins := pgtest.Scalar[int64](t, pool, `SELECT rows_quarantined FROM runs WHERE run_id = 1`),
		pgtest.Scalar[int64](t, pool, `SELECT rows_inserted FROM runs WHERE run_id = 1`); q != 0 || ins != loaded+quarantined {
		t.Fatalf("run 1 after the retry: %d quarantined, %d inserted; want 0 and %d", q, ins, loaded+quarantined)
	}
	_, stderr = mustRun(t, env, "quarantine", "retry", "--run", "1", "--job", job)
	if !strings.Contains(stderr, "retried 0 quarantined rows") {
		t.Fatalf("a second retry has nothing left to do: %s", stderr)
	}
}

// gone waits up to d for process pid to exit (and be reaped, or become a
// zombie of init's).
func gone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestIngestKilledMidRunResumesToACleanResult kills a real hdi process with
// SIGKILL while it loads daily units from the fake Databento API, re-runs
// it, and compares the result with a clean run.
func TestIngestKilledMidRunResumesToACleanResult(t *testing.T) {
	bin := testbin.Dir(t)
	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{Days: 8, PerDay: 3000, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	defer srv.Close()
	killAndResume(t, func(url string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, "hdi"), "ingest", "--migrate", "--provider", "databento", "--dataset", "GLBX.MDP3",
			"--schema", "trades", "--symbols", "ES.FUT", "--stype-in", "parent", "--start", "2024-01-02", "--end", "2024-01-09",
			"--concurrency", "1")
		c.Env = append(os.Environ(), "DATABASE_URL="+url, "HDI_PLUGIN_PATH="+bin, "DATABENTO_BASE_URL="+srv.URL, "DATABENTO_API_KEY="+srv.Key)
		return c
	}, func() { // slows every get_range answer (the re-run's too), so the kill lands between units
		srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Delay: 20 * time.Millisecond, Count: 100})
	})
}

func TestIngestDryRunShowsCostAndMaxCostRefuses(t *testing.T) {
	url := pgtest.NewDB(t)
	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{Days: 3, PerDay: 100, Schemas: []dbn.Schema{dbn.SchemaOhlcv1D, dbn.SchemaTrades}}))
	defer srv.Close()
	env := ingestEnv(t, url)
	// hdi reads the variables the provider declares and passes them on.
	env["DATABENTO_BASE_URL"], env["DATABENTO_API_KEY"] = srv.URL, srv.Key
	args := []string{"ingest", "--migrate", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades",
		"--symbols", "ESH4", "--start", "2024-01-02", "--end", "2024-01-04"}
	out, _ := mustRun(t, env, append(args, "--dry-run", "--format", "json")...)
	var doc struct {
		Plans []struct {
			Units []struct {
				Key  string   `json:"key"`
				Cost *float64 `json:"estimated_cost_usd"`
			} `json:"units"`
			Cost *float64 `json:"estimated_cost_usd"`
		} `json:"plans"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Plans) != 1 {
		t.Fatalf("dry-run json: one document with one plan: %v\n%s", err, out)
	}
	plan := doc.Plans[0]
	if len(plan.Units) != 3 || plan.Cost == nil || *plan.Cost <= 0 {
		t.Fatalf("want 3 daily units with a cost: %s", out)
	}
	pool := pgtest.Connect(t, url)
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs`); n != 0 {
		t.Fatal("a dry run must change nothing")
	}
	if len(srv.RequestsTo("timeseries.get_range")) != 0 {
		t.Fatal("a dry run must fetch no data")
	}
	code, _, stderr := runCLI(t, env, append(args, "--max-cost", fmt.Sprint(*plan.Cost/2))...)
	if code != exitFailure || !strings.Contains(stderr, "exceeds max_cost") {
		t.Fatalf("max cost: exit %d: %s", code, stderr)
	}
	if len(srv.RequestsTo("timeseries.get_range")) != 0 {
		t.Fatal("a refused run must fetch no data")
	}
}

// TestIngestCSVIntoAUserTable walks the csv journey as the docs tell it:
// the header names the table's columns, types come from the table, decimals
// stay exact, an empty field is NULL, a bad field is quarantined with its
// file:line:column, a re-run skips the file, an overlapping file dedupes on
// the table's key, and several files go in one --file.
func TestIngestCSVIntoAUserTable(t *testing.T) {
	url := pgtest.NewMigratedDB(t)
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(t.Context(), `CREATE TABLE my_prices (ts timestamptz NOT NULL, symbol text NOT NULL,
		price numeric(12,4), volume bigint, UNIQUE (symbol, ts))`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.csv", "ts,symbol,price,volume\n"+
		"2024-03-01 14:30:00,ESH4,5100.25,12\n"+
		"2024-03-01 14:31:00,ESH4,,7\n"+
		"2024-03-01 14:32:00,ESH4,51o0.5,3\n"+
		"2024-03-01T14:33:00Z,ESH4,5100.0001,\n")
	env := ingestEnv(t, url)
	_, stderr := mustRun(t, env, "ingest", "--provider", "csv", "--file", a, "--table", "my_prices")
	if !strings.Contains(stderr, "3 inserted") || !strings.Contains(stderr, "1 quarantined") {
		t.Fatalf("summary:\n%s", stderr)
	}
	got := pgtest.Scalar[string](t, pool, `SELECT string_agg(concat_ws('|', to_char(ts AT TIME ZONE 'UTC', 'HH24:MI'), symbol, coalesce(price::text, 'NULL'), coalesce(volume::text, 'NULL')), ',' ORDER BY ts) FROM my_prices`)
	if got != "14:30|ESH4|5100.2500|12,14:31|ESH4|NULL|7,14:33|ESH4|5100.0001|NULL" {
		t.Fatalf("rows: %s", got)
	}
	msg := pgtest.Scalar[string](t, pool, `SELECT message FROM quarantine`)
	if want := a + `:4:3: column "price": "51o0.5" is not a decimal number with at most 8 digits before the point and 4 after`; !strings.HasPrefix(msg, want) {
		t.Fatalf("quarantine message %q, want %q...", msg, want)
	}
	_, stderr = mustRun(t, env, "ingest", "--provider", "csv", "--file", a, "--table", "my_prices")
	if !strings.Contains(stderr, "1 skipped (already loaded)") {
		t.Fatalf("re-run: %s", stderr)
	}
	// Two more files in one --file: one overlaps a's rows, one is new.
	b := write("b.csv", "symbol,ts,price,volume\nESH4,2024-03-01 14:30:00,5100.25,12\nESH4,2024-03-01 14:34:00,5100.5,1\n")
	c := write("c.csv", "ts,symbol,price,volume\n2024-03-01 14:35:00,NQH4,18123.125,2\n")
	code, _, stderr := runCLI(t, env, "ingest", "--provider", "csv", "--file", b, c, "--table", "my_prices")
	if code != 0 || !strings.Contains(stderr, "2 inserted") || !strings.Contains(stderr, "1 deduplicated") {
		t.Fatalf("overlap: exit %d\n%s", code, stderr)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM my_prices`); n != 5 {
		t.Fatalf("%d rows, want 5", n)
	}
	// A header column the table lacks is an error naming it, before any row moves.
	d := write("d.csv", "ts,symbol,price,venue\n2024-03-01 14:36:00,ESH4,1,X\n")
	code, _, stderr = runCLI(t, env, "ingest", "--provider", "csv", "--file", d, "--table", "my_prices")
	if code != 1 || !strings.Contains(stderr, "venue (utf8) have no column in table public.my_prices") {
		t.Fatalf("unknown column: exit %d\n%s", code, stderr)
	}
	// Without --table the csv provider cannot know the columns: it says so,
	// a usage error.
	code, _, stderr = runCLI(t, env, "ingest", "--provider", "csv", "--file", a)
	if code != exitUsage || !strings.Contains(stderr, "--table: the csv provider's stream \"rows\" takes its columns from the target table") {
		t.Fatalf("no table: exit %d\n%s", code, stderr)
	}
	// runs show prints the run's parameters one key a line; JSON keeps them
	// an object.
	out, _ := mustRun(t, env, "runs", "show", "1")
	if !strings.Contains(out, "\nparameters:\n") || !strings.Contains(out, "\n    \"provider\": \"csv\",\n") {
		t.Errorf("runs show: parameters not one key a line:\n%s", out)
	}
	out, _ = mustRun(t, env, "runs", "show", "1", "--format", "json")
	var doc struct {
		Run struct {
			Parameters map[string]any `json:"parameters"`
		} `json:"run"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Run.Parameters["provider"] != "csv" {
		t.Errorf("runs show --format json: parameters %v (%v)\n%s", doc.Run.Parameters, err, out)
	}
}

// TestIngestCSVRowsTheTableCannotHold is the fault probe's file: a value
// beyond numeric(12,4), a record with an extra field, an empty field for a
// NOT NULL text column, a text longer than varchar(8), an integer out of
// range, and a CHECK the row breaks. Each is a quarantined row (with its
// file:line:column where the provider knows it), the other rows load, the
// run exits 0, and a re-run skips the file.
func TestIngestCSVRowsTheTableCannotHold(t *testing.T) {
	url := pgtest.NewMigratedDB(t)
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(t.Context(), `CREATE TABLE my_prices (ts timestamptz NOT NULL, symbol varchar(8) NOT NULL,
		price numeric(12,4) CHECK (price > 0), volume integer, UNIQUE (symbol, ts))`); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "ovf.csv")
	if err := os.WriteFile(f, []byte("ts,symbol,price,volume\n"+
		"2024-03-01 14:30:00,ESH4,5100.25,12\n"+
		"2024-03-01 14:40:00,ESH4,99999999999.9999,1\n"+
		"2024-03-01 14:41:00,ESH4,1,1,extra\n"+
		"2024-03-01 14:42:00,,5100.5,2\n"+
		"2024-03-01 14:43:00,ESH4-TOO-LONG,5100.5,2\n"+
		"2024-03-01 14:44:00,ESH4,5100.5,99999999999\n"+
		"2024-03-01 14:45:00,ESH4,-1,3\n"+
		"2024-03-01 14:46:00,\"\",5100.75,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := ingestEnv(t, url)
	_, stderr := mustRun(t, env, "ingest", "--provider", "csv", "--file", f, "--table", "my_prices")
	if !strings.Contains(stderr, "2 inserted") || !strings.Contains(stderr, "6 quarantined") {
		t.Fatalf("summary:\n%s", stderr)
	}
	got := pgtest.Scalar[string](t, pool, `SELECT string_agg(concat_ws('|', to_char(ts AT TIME ZONE 'UTC', 'HH24:MI'), '"'||symbol||'"', price, volume), ',' ORDER BY ts) FROM my_prices`)
	if got != `14:30|"ESH4"|5100.2500|12,14:46|""|5100.7500|4` {
		t.Fatalf("rows: %s", got)
	}
	rows, err := pool.Query(t.Context(), `SELECT rule, message FROM quarantine ORDER BY quarantine_id`)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for rows.Next() {
		var rule, msg string
		if err := rows.Scan(&rule, &msg); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, rule+" "+strings.ReplaceAll(msg, f, "ovf.csv"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`source ovf.csv:3:3: column "price": "99999999999.9999" is not a decimal number with at most 8 digits before the point and 4 after: 11 digits before the decimal point`,
		`source ovf.csv:4:5: the record has 5 fields, the header 4`,
		`source ovf.csv:5:2: column "symbol": empty (NULL), but the column is NOT NULL`,
		`source ovf.csv:6:2: column "symbol": "ESH4-TOO-LONG" is not a text of at most 8 characters: it has 13`,
		`source ovf.csv:7:4: column "volume": "99999999999" is not a whole number from -2147483648 to 2147483647: value out of range`,
		`table new row for relation "my_prices" violates check constraint "my_prices_price_check": Failing row contains (2024-03-01 14:45:00+00, ESH4, -1.0000, 3). (SQLSTATE 23514)`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("quarantine\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	_, stderr = mustRun(t, env, "ingest", "--provider", "csv", "--file", f, "--table", "my_prices")
	if !strings.Contains(stderr, "1 skipped (already loaded)") {
		t.Fatalf("re-run: %s", stderr)
	}
}

// TestCoverageIsCountedAtLoadTime: coverage_daily, which `coverage` and the
// web page read, equals a count of the tables after a first load, a re-load
// of the same files (deduplicated), a --force reload and a replace-range
// reload of a part of the range.
func TestCoverageIsCountedAtLoadTime(t *testing.T) {
	url := pgtest.NewDB(t)
	env := ingestEnv(t, url)
	dir := t.TempDir()
	mustRun(t, env, "dbn", "synth", "--out", dir)
	pool := pgtest.Connect(t, url)
	check := func(step string) {
		t.Helper()
		var diff int64
		err := pool.QueryRow(context.Background(), `
			WITH scanned AS (
			    SELECT 'trades' AS table_name, dataset, instrument_id, (ts AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM trades GROUP BY 1, 2, 3, 4
			    UNION ALL SELECT 'ohlcv_1m', dataset, instrument_id, (ts AT TIME ZONE 'UTC')::date, count(*) FROM ohlcv_1m GROUP BY 1, 2, 3, 4
			    UNION ALL SELECT 'ohlcv_1d', dataset, instrument_id, (ts AT TIME ZONE 'UTC')::date, count(*) FROM ohlcv_1d GROUP BY 1, 2, 3, 4
			    UNION ALL SELECT 'definition', dataset, instrument_id, (ts AT TIME ZONE 'UTC')::date, count(*) FROM definition GROUP BY 1, 2, 3, 4
			    UNION ALL SELECT 'statistics', dataset, instrument_id, (ts AT TIME ZONE 'UTC')::date, count(*) FROM statistics GROUP BY 1, 2, 3, 4)
			SELECT count(*) FROM scanned s FULL JOIN coverage_daily c USING (table_name, dataset, instrument_id, day)
			WHERE s.n IS DISTINCT FROM c.row_count`).Scan(&diff)
		if err != nil || diff != 0 {
			t.Fatalf("%s: %d (table, instrument, day) counts differ from the tables (%v)", step, diff, err)
		}
		if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM coverage_daily WHERE table_name = 'trades'`); n == 0 {
			t.Fatalf("%s: no trades coverage", step)
		}
	}
	mustRun(t, env, "ingest", "--migrate", "--provider", "databento", "--file", dir)
	check("first load")
	// The same trades again in other units (parts): every row deduplicated.
	mustRun(t, env, "ingest", "--provider", "databento", "--file", filepath.Join(dir, "demo.trades.dbn.zst"), "--param", "parts=3")
	check("re-load in parts")
	mustRun(t, env, "ingest", "--provider", "databento", "--file", filepath.Join(dir, "demo.trades.dbn.zst"), "--force")
	check("--force")
	if _, err := pool.Exec(context.Background(), `DELETE FROM trades WHERE ctid IN (SELECT ctid FROM trades LIMIT 1000)`); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "ingest", "--provider", "databento", "--file", filepath.Join(dir, "demo.trades.dbn.zst"), "--mode", "replace-range")
	check("replace-range")
	// Statistics take the upsert path: a newer record replaces a stored one.
	stats := dbnSample(t, "test_data.statistics.v3.dbn.zst")
	mustRun(t, env, "ingest", "--provider", "databento", "--file", stats)
	_, stderr := mustRun(t, env, "ingest", "--provider", "databento", "--file", stats, "--param", "parts=2")
	if !strings.Contains(stderr, " 0 inserted, ") {
		t.Fatalf("the second statistics load should insert nothing:\n%s", stderr)
	}
	check("statistics upserts")
}
