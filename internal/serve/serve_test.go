package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/localpg"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/internal/serve"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/sdk"
	sqlfiles "github.com/hdi-dev/hdi/sql"
)

func TestMain(m *testing.M) { pgtest.Main(m, testbin.NoLeftovers) }

// demoDB is a database holding hdi's demo data (ES and NQ, rolling from
// the March to the June contracts on 2024-03-15), loaded by the hdi binary.
func demoDB(t *testing.T) string {
	t.Helper()
	bin = testbin.Dir(t)
	url := pgtest.NewDB(t)
	dir := t.TempDir()
	for _, args := range [][]string{{"dbn", "synth", "--out", dir}, {"ingest", "--migrate", "--provider", "databento", "--file", dir}} {
		if out, err := hdi(url, args...).CombinedOutput(); err != nil {
			t.Fatalf("hdi %v: %v\n%s", args, err, out)
		}
	}
	return url
}

var bin string

func hdi(url string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(bin, "hdi"), args...)
	c.Env = append(os.Environ(), "DATABASE_URL="+url, "HDI_PLUGIN_PATH="+bin)
	return c
}

type testServer struct {
	*httptest.Server
	log *testbin.Buffer
}

// newServer serves url in-process, as `hdi serve` does; queriesDir, if
// given, holds user query files.
func newServer(t *testing.T, url string, opts serve.Options, queriesDir ...string) *testServer {
	t.Helper()
	pool, err := serve.OpenPool(t.Context(), url, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return serveWith(t, pool, opts, queriesDir...)
}

func serveWith(t *testing.T, pool *pgxpool.Pool, opts serve.Options, queriesDir ...string) *testServer {
	t.Helper()
	dir := ""
	if len(queriesDir) > 0 {
		dir = queriesDir[0]
	}
	cat, err := query.Load(sqlfiles.Queries, dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testbin.Buffer{}
	opts.Pool, opts.Catalog = pool, cat
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	opts.Jobs = func() ([]jobspec.Entry, error) { return jobspec.List("", jobspec.Options{KeepUnsetEnv: true}) }
	if opts.Ops == nil {
		opts.Ops = writeOps(t, pool.Config().ConnString(), "")
	}
	s, err := serve.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, log: logs}
}

// writeOps are the write operations on url's database (a read-write pool
// of their own), with the provider plugins of the test binaries and the
// jobs of jobsDir (and the built-in ones).
func writeOps(t *testing.T, url, jobsDir string) *ops.Env {
	t.Helper()
	plugins := testbin.Dir(t)
	host := pluginhost.New(pluginhost.Options{Path: []string{plugins}})
	t.Cleanup(func() { _ = host.Close() })
	return &ops.Env{Pool: pgtest.Connect(t, url), JobsDir: jobsDir,
		NewRunner: func(o runner.Options) *runner.Runner {
			o.Open = func(ctx context.Context, name string) (sdk.Provider, error) { return host.Open(ctx, name) }
			return runner.New(o)
		}}
}

// response is one answer of the server, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch GETs path with the given header names and values.
func (ts *testServer) fetch(t *testing.T, path string, header ...string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return response{res.StatusCode, res.Header, b}
}

// get fetches path and returns the status, the content type and the body.
func (ts *testServer) get(t *testing.T, path string, header ...string) (int, string, []byte) {
	t.Helper()
	r := ts.fetch(t, path, header...)
	return r.status, r.header.Get("Content-Type"), r.body
}

func (ts *testServer) mustGet(t *testing.T, path string) []byte {
	t.Helper()
	code, _, b := ts.get(t, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	return b
}

// TestBarsEqualTheCLI: the API's bars are the bytes `hdi query bars`
// prints, in every format, with back-adjustment, stored (1d) and
// resampled (4h).
func testBarsEqualTheCLI(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	for _, interval := range []string{"1d", "4h"} {
		for _, adjust := range []string{"none", "ratio", "difference"} {
			for _, format := range []string{"csv", "json", "ndjson"} {
				api := ts.mustGet(t, "/api/v1/bars?symbols=ES.c.0,NQ.c.0&interval="+interval+"&start=2024-03-11&end=2024-03-22&adjust="+adjust+"&format="+format)
				cli, err := hdi(url, "query", "bars", "-s", "ES.c.0,NQ.c.0", "--interval", interval, "--start", "2024-03-11", "--end", "2024-03-22",
					"--adjust", adjust, "--format", format).Output()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(api, cli) || len(api) < 100 {
					t.Errorf("interval=%s adjust=%s format=%s: API and CLI differ:\n%.2000s\n---\n%.2000s", interval, adjust, format, api, cli)
				}
			}
		}
	}
}

// TestEveryEndpointAndFormat walks the API: each endpoint answers with
// rows in each format, and the spec lists them.
func testEveryEndpointAndFormat(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	data := map[string]string{
		"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22":                                         "ESM4",
		"/api/v1/trades?symbols=ESH4&start=2024-03-14&end=2024-03-14&limit=5":                                 "ESH4",
		"/api/v1/tbbo?symbols=ESH4&start=2024-03-14&end=2024-03-14":                                           "",
		"/api/v1/statistics?symbols=ESH4&start=2024-03-14&end=2024-03-14":                                     "",
		"/api/v1/definitions?symbols=ESH4,ESM4&start=2024-03-01&end=2024-03-22":                               "ESM4",
		"/api/v1/symbols/resolve?symbols=ES.c.0&start=2024-03-14&end=2024-03-15":                              "ESM4",
		"/api/v1/coverage?table=trades":                                                                       "trades",
		"/api/v1/queries/SymbolBars1m?dataset=GLBX.MDP3&symbols=ES.c.0&start_ts=2024-03-14&end_ts=2024-03-14": "ESH4",
		"/api/v1/queries/Runs": "succeeded",
		// No dataset: the one of the symbols.
		"/api/v1/queries/Vwap?symbols=ES.c.0&start_ts=2024-03-15&end_ts=2024-03-15&interval=1h":               "ES.c.0",
		"/api/v1/queries/RsiAtr?symbols=ES.c.0&start_ts=2024-03-11&end_ts=2024-03-22&interval=1h-rollup&n=14": "ES.c.0",
	}
	for path, want := range data {
		sep := "&"
		if !strings.Contains(path, "?") {
			sep = "?"
		}
		for format, ct := range map[string]string{"json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"} {
			code, gotCT, body := ts.get(t, path+sep+"format="+format)
			if code != http.StatusOK || gotCT != ct {
				t.Errorf("%s as %s: %d %s\n%.300s", path, format, code, gotCT, body)
				continue
			}
			switch format {
			case "json":
				var rows []map[string]any
				if err := json.Unmarshal(body, &rows); err != nil {
					t.Errorf("%s: not a JSON array: %v", path, err)
				}
			case "parquet":
				if n := parquetRows(t, body); want != "" && n == 0 {
					t.Errorf("%s: empty parquet", path)
				}
			}
			if want != "" && format != "parquet" && !bytes.Contains(body, []byte(want)) {
				t.Errorf("%s as %s: no %q in\n%.500s", path, format, want, body)
			}
		}
	}
	// Accept picks the format when format= is absent.
	if _, ct, _ := ts.get(t, "/api/v1/queries/Runs", "Accept", "text/csv"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Accept: text/csv gave %s", ct)
	}
	// The JSON endpoints.
	var queries []struct {
		Name   string
		Params []struct{ Name, Type string }
	}
	if err := json.Unmarshal(ts.mustGet(t, "/api/v1/queries"), &queries); err != nil || len(queries) < 40 {
		t.Fatalf("queries: %d, %v", len(queries), err)
	}
	for _, q := range queries {
		for _, p := range q.Params {
			if p.Type == "" {
				t.Errorf("query %s: parameter %s has no type", q.Name, p.Name)
			}
		}
	}
	var runs []struct {
		RunID  int64 `json:"run_id"`
		Status string
	}
	if err := json.Unmarshal(ts.mustGet(t, "/api/v1/runs"), &runs); err != nil || len(runs) == 0 || runs[0].Status != "succeeded" {
		t.Fatalf("runs: %+v %v", runs, err)
	}
	var run struct {
		Run   struct{ Job string }
		Units []struct{ Status string }
	}
	if err := json.Unmarshal(ts.mustGet(t, fmt.Sprintf("/api/v1/runs/%d", runs[0].RunID)), &run); err != nil || len(run.Units) == 0 || run.Units[0].Status != "done" {
		t.Fatalf("run: %+v %v", run, err)
	}
	var jobs []struct{ Name string }
	if err := json.Unmarshal(ts.mustGet(t, "/api/v1/jobs"), &jobs); err != nil || len(jobs) < 7 {
		t.Fatalf("jobs: %+v %v", jobs, err)
	}
	var spec struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]any
	}
	if err := json.Unmarshal(ts.mustGet(t, "/openapi.json"), &spec); err != nil || spec.OpenAPI != "3.1.0" {
		t.Fatalf("openapi: %v %s", err, spec.OpenAPI)
	}
	for _, p := range []string{"/api/v1/bars", "/api/v1/coverage", "/api/v1/queries/SymbolBars1d", "/api/v1/runs/{id}", "/api/v1/symbols/resolve"} {
		if spec.Paths[p] == nil {
			t.Errorf("the spec has no %s", p)
		}
	}
	if code, _, body := ts.get(t, "/healthz"); code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"ok"`)) {
		t.Errorf("healthz: %d %s", code, body)
	}
	metrics := string(ts.mustGet(t, "/metrics"))
	for _, m := range []string{`hdi_http_requests_total{method="GET",route="/api/v1/bars",status="200"}`, `hdi_rows_loaded{table="trades"} 80520`,
		`hdi_runs{status="succeeded"}`, `hdi_db_pool_max_conns`, `hdi_http_request_duration_seconds_bucket`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	if code, ct, body := ts.get(t, "/"); code != http.StatusOK || !strings.HasPrefix(ct, "text/html") || !bytes.Contains(body, []byte("lightweight-charts")) {
		t.Errorf("the page: %d %s", code, ct)
	}
}

func parquetRows(t *testing.T, b []byte) int64 {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(b), file.WithReadProps(nil))
	if err != nil {
		t.Fatalf("parquet: %v", err)
	}
	defer r.Close()
	return r.NumRows()
}

// TestBadRequestsSayWhatIsWrong: each mistake is one problem+json with
// the right status and the parameter at fault; none is a 500.
func testBadRequestsSayWhatIsWrong(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	for _, tc := range []struct {
		path   string
		status int
		param  string
		detail string
	}{
		{"/api/v1/bars?symbols=ES.c.0&start=2024-13-01&end=2024-03-22", 400, "start", `start: "2024-13-01" is not a real date or time`},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11", 400, "end", "end: is required"},
		{"/api/v1/bars?start=2024-03-11&end=2024-03-22", 400, "symbols", "symbols: is required"},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&interval=2x", 400, "interval", `unknown interval "2x"`},
		{"/api/v1/bars?symbols=ES.FUT&start=2024-03-11&end=2024-03-22&adjust=ratio", 400, "adjust", `"ES.FUT" is not one`},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&adjust=log", 400, "adjust", `"log": want none, ratio or difference`},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&format=xml", 400, "format", `"xml": want json, ndjson, csv or parquet`},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&limit=-3", 400, "limit", "limit"},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&tz=Mars", 400, "tz", "not an IANA time zone"},
		{"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&sybmols=x", 400, "sybmols", "unknown parameter"},
		{"/api/v1/trades?symbols=ESZ9&start=2024-03-11&end=2024-03-22", 404, "symbols", "unknown symbol ESZ9"},
		{"/api/v1/queries/SymbolTrade", 404, "", `no query named "SymbolTrade"; did you mean`},
		{"/api/v1/queries/SymbolTrades?dataset=GLBX.MDP3&symbols=ESH4&start_ts=yesterdayish&end_ts=2024-03-14", 400, "start_ts", "not a time"},
		{"/api/v1/queries/SymbolTrades?dataset=GLBX.MDP3&symbols=ESH4&end_ts=2024-03-14", 400, "start_ts", "is required"},
		{"/api/v1/queries/Runs?row_limit=5", 400, "row_limit", "unknown parameter"},
		{"/api/v1/queries/Returns?symbols=ESZ9&start_ts=2024-03-11&end_ts=2024-03-22", 404, "symbols", "unknown symbol ESZ9"},
		{"/api/v1/coverage?bucket=year", 400, "bucket", `"year": want day, week, month or auto`},
		{"/api/v1/runs/abc", 400, "", ""},
		{"/api/v1/runs/99999", 404, "", "no run 99999"},
		{"/api/v1/nothing", 404, "", "no such endpoint"},
	} {
		code, ct, body := ts.get(t, tc.path)
		var p struct {
			Status int
			Detail string
			Errors []struct{ Location string }
		}
		if err := json.Unmarshal(body, &p); err != nil || code != tc.status || ct != "application/problem+json" || p.Status != tc.status {
			t.Errorf("%s: %d %s %s (want %d problem+json)", tc.path, code, ct, body, tc.status)
			continue
		}
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q lacks %q", tc.path, p.Detail, tc.detail)
		}
		if tc.param != "" && (len(p.Errors) == 0 || p.Errors[0].Location != "query."+tc.param) {
			t.Errorf("%s: errors %+v, want location query.%s", tc.path, p.Errors, tc.param)
		}
	}
	if res, err := ts.Client().Post(ts.URL+"/api/v1/bars", "text/plain", nil); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", res.StatusCode, err)
	}
}

// TestDatabaseDown: when the database goes away under a running server,
// /healthz and the data answer 503 problem+json, never 500; when it is
// back, so are they.
func testDatabaseDown(t *testing.T, _ string) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	c, err := localpg.Throwaway(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Remove(context.Background()) })
	url := c.DatabaseURL("postgres")
	if out, err := hdi(url, "migrate", "up").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ts := newServer(t, url, serve.Options{})
	if code, _, _ := ts.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz before: %d", code)
	}
	if _, err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _, body := ts.get(t, "/healthz"); code != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"status":"unavailable"`)) {
		t.Errorf("healthz: %d %s", code, body)
	}
	for _, p := range []string{"/api/v1/queries/Runs", "/api/v1/runs", "/api/v1/coverage"} {
		if code, ct, body := ts.get(t, p); code != http.StatusServiceUnavailable || ct != "application/problem+json" {
			t.Errorf("%s: %d %s %s", p, code, ct, body)
		}
	}
	if _, err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _, body := ts.get(t, "/api/v1/queries/Runs"); code != http.StatusOK {
		t.Errorf("after the restart: %d %s", code, body)
	}
}

// TestTokens: with tokens, /api, /openapi.json and /metrics need one,
// compared exactly; /healthz and the page do not; tokens are not logged;
// and without one hdi refuses to listen beyond loopback.
func testTokens(t *testing.T, url string) {
	const secret = "s3cret-token-0123456789"
	ts := newServer(t, url, serve.Options{BootstrapTokens: []string{secret, "another"}})
	for _, p := range []string{"/api/v1/queries", "/api/v1/runs", "/openapi.json", "/metrics", "/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22"} {
		if code, ct, _ := ts.get(t, p); code != http.StatusUnauthorized || ct != "application/problem+json" {
			t.Errorf("%s without a token: %d %s", p, code, ct)
		}
		if code, _, _ := ts.get(t, p, "Authorization", "Bearer "+secret+"x"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if code, _, body := ts.get(t, p, "Authorization", "bearer "+secret); code != http.StatusOK {
			t.Errorf("%s with the token: %d %s", p, code, body)
		}
	}
	for _, p := range []string{"/healthz", "/", "/app.js"} {
		if code, _, _ := ts.get(t, p); code != http.StatusOK {
			t.Errorf("%s should need no token: %d", p, code)
		}
	}
	if strings.Contains(ts.log.String(), secret) {
		t.Errorf("the token is in the log:\n%s", ts.log.String())
	}
	for _, tc := range []struct {
		addr   string
		tokens bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, true}, {"[::1]:8080", false, true}, {"localhost:8080", false, true},
		{"0.0.0.0:8080", false, false}, {":8080", false, false}, {"192.0.2.7:8080", false, false},
		{"0.0.0.0:8080", true, true},
	} {
		err := serve.CheckAddr(tc.addr, tc.tokens)
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "hdi tokens create")) {
			t.Errorf("%s (tokens: %v): %v", tc.addr, tc.tokens, err)
		}
	}
}

// TestRowCapAndConstantMemory: a response stops at the server's cap and
// says so in its trailer; a response of 2M rows streams with the heap
// flat.
func testRowCapAndConstantMemory(t *testing.T, url string) {
	dir := t.TempDir()
	big := "-- name: Numbers :many\nSELECT n, n * 2 AS twice, 'row ' || n AS label FROM generate_series(1, @upto::bigint) AS n;\n"
	if err := os.WriteFile(filepath.Join(dir, "numbers.sql"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, url, serve.Options{MaxRows: 5}, dir)
	res, err := ts.Client().Get(ts.URL + "/api/v1/queries/Numbers?upto=100&format=ndjson")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if n := bytes.Count(body, []byte("\n")); n != 5 || res.Trailer.Get("Hdi-Truncated") != "true" || res.Header.Get("Hdi-Row-Cap") != "5" {
		t.Fatalf("capped: %d rows, truncated %q, cap %q", n, res.Trailer.Get("Hdi-Truncated"), res.Header.Get("Hdi-Row-Cap"))
	}
	res, _ = ts.Client().Get(ts.URL + "/api/v1/queries/Numbers?upto=3&format=ndjson")
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Trailer.Get("Hdi-Truncated") != "false" {
		t.Fatalf("3 rows under a cap of 5: truncated %q", res.Trailer.Get("Hdi-Truncated"))
	}

	const rows = 2_000_000
	large := newServer(t, url, serve.Options{MaxRows: rows}, dir)
	res, err = large.Client().Get(large.URL + fmt.Sprintf("/api/v1/queries/Numbers?upto=%d&format=json", rows))
	if err != nil {
		t.Fatal(err)
	}
	var peak uint64
	var ms runtime.MemStats
	buf := make([]byte, 1<<20)
	var total, n int64
	for {
		k, err := res.Body.Read(buf)
		total += int64(k)
		if n++; n%64 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		if err != nil {
			break
		}
	}
	res.Body.Close()
	if total < rows*30 {
		t.Fatalf("only %d bytes for %d rows", total, rows)
	}
	if peak > 64<<20 {
		t.Fatalf("the heap reached %d MB streaming %d rows (%d MB): not constant", peak>>20, rows, total>>20)
	}
	t.Logf("%d rows, %d MB streamed, heap peak %d MB", rows, total>>20, peak>>20)
}

// TestCoverageByPeriodAndSymbol: coverage sums days into ISO weeks and
// months with the same totals, picks the period from the range when asked
// (auto), and with symbols keeps what a continuous symbol named each day,
// with that day's contract.
func testCoverageByPeriodAndSymbol(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	type row struct {
		Table     string `json:"table_name"`
		ID        int64  `json:"instrument_id"`
		RawSymbol string `json:"raw_symbol"`
		Day       string
		RowCount  int64 `json:"row_count"`
		Bucket    string
		Days      int64
		Symbol    *string
	}
	get := func(q string) []row {
		t.Helper()
		var rows []row
		if err := json.Unmarshal(ts.mustGet(t, "/api/v1/coverage?"+q), &rows); err != nil || len(rows) == 0 {
			t.Fatalf("coverage?%s: %d rows, %v", q, len(rows), err)
		}
		return rows
	}
	total := func(rows []row) (n, days int64) {
		for _, r := range rows {
			n, days = n+r.RowCount, days+r.Days
		}
		return n, days
	}
	daily := get("table=trades")
	wantRows, wantDays := total(daily)
	if wantDays != int64(len(daily)) || daily[0].Bucket != "day" || daily[0].Symbol != nil {
		t.Fatalf("by day: %d days in %d rows, %+v", wantDays, len(daily), daily[0])
	}
	for _, bucket := range []string{"week", "month"} {
		rows := get("table=trades&bucket=" + bucket)
		if n, days := total(rows); n != wantRows || days != wantDays || len(rows) >= len(daily) {
			t.Errorf("by %s: %d rows on %d days in %d periods; by day %d on %d in %d", bucket, n, days, len(rows), wantRows, wantDays, len(daily))
		}
		for _, r := range rows {
			d, err := time.Parse(time.DateOnly, r.Day)
			if err != nil || r.Bucket != bucket || (bucket == "week" && d.Weekday() != time.Monday) || (bucket == "month" && d.Day() != 1) {
				t.Errorf("by %s: %+v", bucket, r)
			}
		}
	}
	for q, want := range map[string]string{
		"":                                 "day", // the demo's 12 days
		"&start=2024-01-01&end=2024-06-30": "week",
		"&start=2022-01-01&end=2024-12-31": "month",
	} {
		if got := get("table=trades&bucket=auto" + q)[0].Bucket; got != want {
			t.Errorf("auto%s: %s, want %s", q, got, want)
		}
	}
	roll := "2024-03-15"
	bars := get("table=ohlcv_1d&symbols=ES.c.0")
	for _, r := range bars {
		want := "ESH4"
		if r.Day >= roll {
			want = "ESM4"
		}
		if r.Symbol == nil || *r.Symbol != "ES.c.0" || r.RawSymbol != want || r.Days != 1 {
			t.Errorf("ES.c.0: %+v, want %s", r, want)
		}
	}
	if len(bars) != 10 {
		t.Errorf("ES.c.0 has %d daily bars, want 10: %+v", len(bars), bars)
	}
}

// TestServe walks the API on one demo database.
func TestServe(t *testing.T) {
	url := demoDB(t)
	for name, f := range map[string]func(*testing.T, string){
		"bars equal the CLI":             testBarsEqualTheCLI,
		"every endpoint and format":      testEveryEndpointAndFormat,
		"bad requests say what is wrong": testBadRequestsSayWhatIsWrong,
		"database down":                  testDatabaseDown,
		"tokens":                         testTokens,
		"row cap and constant memory":    testRowCapAndConstantMemory,
		"resolve takes a limit":          testResolveTakesALimit,
		"coverage by period and symbol":  testCoverageByPeriodAndSymbol,
		"database faults":                testDatabaseFaults,
		"control characters":             testControlCharacters,
		"unknown paths":                  testUnknownPaths,
	} {
		t.Run(name, func(t *testing.T) { f(t, url) })
	}
}
