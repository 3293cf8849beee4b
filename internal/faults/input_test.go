package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// TestMalformedJobYAML: a broken job file fails before anything runs, with
// `file:line: message`.
func TestMalformedJobYAML(t *testing.T) {
	url, pool := migratedDB(t)
	dir := t.TempDir()
	cases := []struct{ name, body, want string }{
		{"syntax", "name: j\nprovider:\n  name: databento\nsource: [unclosed\n", ":3: invalid YAML"},
		{"unknown key", "name: j\nprovider:\n  name: databento\nsource:\n  schema: trades\n  colour: blue\n", `:6: `},
		{"wrong type", "name: j\nprovider:\n  name: databento\nsource:\n  schema: trades\n  limit: lots\n", `:6: `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			r := hdi(t, env(t, url), "ingest", "--job", p)
			wantFail(t, r, 0, filepath.Base(p)+tc.want)
			t.Logf("%s", strings.TrimSpace(r.stderr))
		})
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs`); n != 0 {
		t.Fatalf("a malformed job started %d runs", n)
	}
}

// TestBadDates: end before start, impossible dates and the future are
// refused with a message naming the flag, before any request.
func TestBadDates(t *testing.T) {
	srv := fakeAPI(t, 3, 10)
	url, pool := migratedDB(t)
	future := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	cases := []struct{ start, end, want string }{
		{"2024-01-05", "2024-01-02", `hdi: --end: "2024-01-02" is not after --start "2024-01-05"`},
		{"2024-02-30", "2024-03-01", `hdi: --start: "2024-02-30" is not a real date or time (day out of range)`},
		{"2024-01-02", "2024-13-01", `hdi: --end: "2024-13-01" is not a real date or time (month out of range)`},
		{future, "", `hdi: --start: "` + future + `" is in the future`},
	}
	for _, tc := range cases {
		t.Run(tc.start+".."+tc.end, func(t *testing.T) {
			args := []string{"ingest", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades", "--symbols", "ESH4", "--start", tc.start}
			if tc.end != "" {
				args = append(args, "--end", tc.end)
			}
			r := hdi(t, apiEnv(t, url, srv), args...)
			wantFail(t, r, 0, tc.want)
			t.Logf("%s", strings.TrimSpace(r.stderr))
		})
	}
	if n := len(srv.RequestsTo("timeseries.get_range")); n != 0 {
		t.Fatalf("bad dates still fetched data (%d requests)", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 0 {
		t.Fatal("bad dates loaded rows")
	}
}

// TestUnknownNames: an unknown schema, dataset or symbol fails (or, for a
// symbol, warns) with a message naming it, and loads nothing.
func TestUnknownNames(t *testing.T) {
	srv := fakeAPI(t, 2, 10)
	url, pool := migratedDB(t)
	base := func(dataset, schema, symbol string) []string {
		return []string{"ingest", "--provider", "databento", "--dataset", dataset, "--schema", schema, "--symbols", symbol,
			"--start", "2024-01-02", "--end", "2024-01-03"}
	}
	r := hdi(t, apiEnv(t, url, srv), base("GLBX.MDP3", "trades-5m", "ESH4")...)
	wantFail(t, r, 0, "trades-5m")
	t.Logf("schema: %s", strings.TrimSpace(r.stderr))
	r = hdi(t, apiEnv(t, url, srv), base("NOPE.XNAS", "trades", "ESH4")...)
	wantFail(t, r, 0, "NOPE.XNAS")
	t.Logf("dataset: %s", strings.TrimSpace(r.stderr))
	r = hdi(t, apiEnv(t, url, srv), base("GLBX.MDP3", "trades", "NOSUCH9")...)
	if !strings.Contains(r.stderr, "NOSUCH9") {
		t.Fatalf("an unknown symbol must be named: %s", r)
	}
	t.Logf("symbol: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 0 {
		t.Fatalf("unknown names loaded %d rows", n)
	}
}

// TestTenThousandSymbols plans and loads a job of 10,000 symbols (2 real,
// 9,998 unknown): no request carries more than Databento's 2,000 symbols,
// the plan covers every symbol, and the real ones load.
func TestTenThousandSymbols(t *testing.T) {
	srv := fakeAPI(t, 1, 20)
	url, pool := migratedDB(t)
	syms := []string{"ESH4", "AAPL"}
	for i := len(syms); i < 10_000; i++ {
		syms = append(syms, fmt.Sprintf("ZZ%05d", i))
	}
	job := filepath.Join(t.TempDir(), "many.yaml")
	body := fmt.Sprintf("name: many\nprovider:\n  name: databento\nsource:\n  dataset: GLBX.MDP3\n  schema: trades\n  start: 2024-01-02\n  end: 2024-01-02\n  symbols: [%s]\n", strings.Join(syms, ", "))
	if err := os.WriteFile(job, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	e := apiEnv(t, url, srv)
	out := mustHDI(t, e, "ingest", "--job", job, "--dry-run", "--format", "json").stdout
	var doc struct {
		Plans []struct {
			Units []struct {
				Key     string   `json:"key"`
				Symbols []string `json:"symbols"`
			} `json:"units"`
		} `json:"plans"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Plans) != 1 {
		t.Fatalf("dry-run json: %v\n%.2000s", err, out)
	}
	plan := doc.Plans[0]
	seen := map[string]bool{}
	for _, u := range plan.Units {
		if len(u.Symbols) > dbfake.MaxSymbols {
			t.Fatalf("unit %s has %d symbols", u.Key, len(u.Symbols))
		}
		for _, s := range u.Symbols {
			seen[s] = true
		}
	}
	if len(plan.Units) < 5 || len(seen) != len(syms) {
		t.Fatalf("plan: %d units covering %d symbols, want >= 5 covering %d", len(plan.Units), len(seen), len(syms))
	}
	r := hdi(t, e, "ingest", "--job", job)
	t.Logf("exit %d: %.600s", r.code, r.stderr)
	for _, req := range srv.RequestsTo("timeseries.get_range") {
		if n := len(strings.Split(req.Form.Get("symbols"), ",")); n > dbfake.MaxSymbols {
			t.Fatalf("a request carried %d symbols", n)
		}
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(DISTINCT instrument_id) FROM trades`); n != 2 {
		t.Fatalf("want the 2 real instruments loaded, got %d (exit %d)", n, r.code)
	}
}

// TestConcurrentRunsSameJob starts the same job twice at once, as two
// processes: both finish (the second waits on each unit's lock and skips
// what the first loaded, or loads what it did not reach), and no row is
// duplicated: the table equals a single clean run's.
func TestConcurrentRunsSameJob(t *testing.T) {
	const days = 4
	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{Days: days, PerDay: 2000, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	defer srv.Close()
	want := cleanRun(t, srv, days)
	url, pool := migratedDB(t)
	e := apiEnv(t, url, srv)
	results := make(chan result, 2)
	for range 2 {
		go func() {
			c := hdiCmd(t, e, apiArgs(days)...)
			var out, errb strings.Builder
			c.Stdout, c.Stderr = &out, &errb
			_ = c.Run()
			results <- result{code: c.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
		}()
	}
	for range 2 {
		if r := <-results; r.code != 0 {
			t.Fatalf("a concurrent run failed: %s", r)
		}
	}
	if got := pgtest.Checksum(t, pool, "trades"); got != want {
		t.Fatalf("two concurrent runs: %s, one clean run: %s", got, want)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done'`); n != days {
		t.Fatalf("%d done units, want %d", n, days)
	}
}
