package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query/querytest"
	"github.com/hdi-dev/hdi/internal/serve"
)

// chromium is the browser the page is tested in (Debian's chromium, which
// .ci/run installs).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no chromium: install it (apt-get install chromium; .ci/run does)")
	return ""
}

// artifacts is where browser tests leave their screenshots
// (HDI_TEST_ARTIFACTS, else $TMPDIR/hdi-test-artifacts).
func artifacts(t *testing.T) string {
	dir := os.Getenv("HDI_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hdi-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// userDB is a database as a user has one after a few loads, loaded by the
// hdi binary: the demo data (ES and NQ, 2024-03-11..22, in GLBX.MDP3),
// Databento's sample files (GLBX.MDP3 and XNAS.ITCH, 2020-12 to 2023-04)
// and sparse daily bars years apart (sparseBars): two datasets and more,
// five years, and nothing in the last month, where the page used to look.
func userDB(t *testing.T) string {
	t.Helper()
	url := demoDB(t)
	dir := t.TempDir()
	sparseBars(t, dir)
	for _, files := range []string{querytest.SampleDir(t), dir} {
		if out, err := hdi(url, "ingest", "--provider", "databento", "--file", files).CombinedOutput(); err != nil {
			t.Fatalf("hdi ingest --file %s: %v\n%s", files, err, out)
		}
	}
	return url
}

// sparseBars writes daily bars years apart into dir, as DBN files with
// their symbol mappings: in XNAS.ITCH, AAPL on 2019-01-02 under instrument
// id 6819 (which the samples give MSFT on 2021-10-04: an id names one
// instrument only within a day) and MSFT on 2022-06-01; in DBEQ.BASIC, MSFT
// on 2022-06-01 (so MSFT's bars are in two datasets).
func sparseBars(t *testing.T, dir string) {
	t.Helper()
	type bar struct {
		symbol string
		id     uint32
		day    time.Time
	}
	for dataset, bars := range map[string][]bar{
		"XNAS.ITCH":  {{"AAPL", 6819, time.Date(2019, 1, 2, 0, 0, 0, 0, time.UTC)}, {"MSFT", 6830, time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)}},
		"DBEQ.BASIC": {{"MSFT", 7152, time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		meta := &dbn.Metadata{Version: 3, Dataset: dataset, Schema: dbn.SchemaOhlcv1D,
			Start: uint64(bars[0].day.UnixNano()), End: uint64(bars[len(bars)-1].day.AddDate(0, 0, 1).UnixNano()),
			STypeIn: dbn.STypeRawSymbol, STypeOut: dbn.STypeInstrumentID, SymbolCstrLen: dbn.SymbolCstrLen}
		for _, b := range bars {
			meta.Symbols = append(meta.Symbols, b.symbol)
			meta.Mappings = append(meta.Mappings, dbn.SymbolMapping{RawSymbol: b.symbol, Intervals: []dbn.MappingInterval{
				{StartDate: dbn.DateOf(b.day), EndDate: dbn.DateOf(b.day.AddDate(0, 0, 1)), Symbol: fmt.Sprint(b.id)}}})
		}
		f, err := os.Create(filepath.Join(dir, "sparse."+strings.ToLower(dataset)+".ohlcv-1d.dbn.zst"))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := dbn.NewEncoder(f, meta, &dbn.EncoderOptions{Zstd: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bars {
			m := &dbn.OhlcvMsg{Open: 100e9, High: 102e9, Low: 99e9, Close: 101e9, Volume: 1000}
			m.RType, m.PublisherID, m.InstrumentID, m.TsEvent = dbn.RTypeOhlcv1D, 2, b.id, uint64(b.day.UnixNano())
			if err := enc.Encode(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// page is a headless chromium on a test server, noting what the page logs
// as an error or warning and every request it makes to another host.
type page struct {
	ctx      context.Context
	ts       *testServer
	mu       sync.Mutex
	problems []chromedp.ConsoleMessage
	foreign  []string
}

func openPage(t *testing.T, ts *testServer) *page {
	t.Helper()
	host := strings.TrimPrefix(ts.URL, "http://")
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 800))...)
	t.Cleanup(cancelA)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser (no deadline: it would end it)
		t.Fatalf("start chromium: %v", err)
	}
	p := &page{ctx: ctx, ts: ts}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == "error" || m.Type == "warning" || m.IsException() {
				p.mu.Lock()
				p.problems = append(p.problems, m)
				p.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			if u, perr := url.Parse(ev.Request.URL); perr == nil && u.Host != host && u.Scheme != "data" {
				p.mu.Lock()
				p.foreign = append(p.foreign, ev.Request.URL)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// open navigates to path and returns the page state expr (window.hdi.*)
// once the page has set it.
func open[T any](t *testing.T, p *page, path, expr string) T {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, time.Minute)
	defer done()
	if err := chromedp.Do(ctx, chromedp.Navigate(p.ts.URL+path)); err != nil {
		t.Fatal(err)
	}
	return wait[T](t, p, expr)
}

// wait returns the page state expr once the page has set it (window.hdi.*
// are null until then).
func wait[T any](t *testing.T, p *page, expr string) T {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, time.Minute)
	defer done()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("%s never came: %v (page errors: %v)", expr, err, p.errors())
	}
	return v
}

// run runs js in the page.
func (p *page) run(t *testing.T, js string) {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, time.Minute)
	defer done()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](js)); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
}

// eval evaluates js in the page into v.
func (p *page) eval(t *testing.T, js string, v any) {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, time.Minute)
	defer done()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v in %s", js, err, b)
	}
}

// screenshot saves the page into the artifacts directory.
func (p *page) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, time.Minute)
	defer done()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

// errors lists what the page logged as an error or warning, but the
// failed responses of the requests in expected (the API's problems the page
// is meant to show).
func (p *page) errors(expected ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.problems {
		if m.Source == "network" && slices.ContainsFunc(expected, func(e string) bool { return strings.HasSuffix(m.URL, e) }) {
			continue
		}
		out = append(out, string(m.Type)+": "+m.Text+" "+m.URL)
	}
	return out
}

// chartState is window.hdi.chart: what the chart drew, or the message it
// shows instead.
type chartState struct {
	Symbol, Adjust, Start, End, Dataset, Message string
	Bars, Canvases                               int
	Rolls                                        []string
	First, Last                                  int64
	Error                                        struct {
		Status          int
		Detail, Request string
	}
}

// note is the text over the chart and whether it is in view: shown, over
// the chart (the topmost element at its middle) and large.
type note struct {
	Text    string
	Visible bool
}

const noteJS = `(() => {
	const n = document.querySelector('#chart-note'), r = n.getBoundingClientRect();
	const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	return { text: n.innerText, visible: !n.hidden && r.width > 200 && r.height > 100 && n.contains(top) };
})()`

// TestPageInABrowser opens the page in headless chromium on a database
// like a user's (userDB). The chart opens where ES.c.0 has bars; it charts
// ES.c.0 back-adjusted across the March->June roll (candles on both sides,
// a marker at the roll); an empty range says where the data is; an unknown
// or ambiguous symbol shows the API's problem. The coverage heat map shows
// the five years with cells of a readable size, labelled with raw symbols;
// the runs are listed. The page loads nothing from another host and logs
// no error but the problems it was asked for. The state comes from the
// page (window.hdi, set once painted), not a sleep.
func TestPageInABrowser(t *testing.T) {
	dbURL := userDB(t)
	ts := newServer(t, dbURL, serve.Options{})
	p := openPage(t, ts)

	// Nothing loaded in the last month: where the page used to open.
	today := time.Now().UTC()
	last := fmt.Sprintf("/api/v1/coverage?start=%s&end=%s", today.AddDate(0, 0, -30).Format(time.DateOnly), today.Format(time.DateOnly))
	if b := ts.mustGet(t, last); strings.TrimSpace(string(b)) != "[]" {
		t.Fatalf("the database has rows in the last month: %s", b)
	}

	// The page as it opens: ES.c.0 daily bars where they are.
	st := open[chartState](t, p, "/", "window.hdi.chart")
	if st.Symbol != "ES.c.0" || st.Bars != 10 || st.Dataset != "GLBX.MDP3" || st.End != "2024-03-22" || st.Start != "2024-03-11" ||
		st.Message != "" || st.Canvases == 0 {
		t.Fatalf("the default chart: %+v (page errors: %v)", st, p.errors())
	}
	p.screenshot(t, "serve-chart-default.png")

	// Another symbol in the form: what the page filled in for ES.c.0 goes,
	// and AAPL's one bar is found in its dataset.
	p.run(t, `document.querySelector('#chart-form').symbols.value = 'AAPL';
		document.querySelector('#chart-form button').click();`)
	st = wait[chartState](t, p, "window.hdi.chart")
	if st.Symbol != "AAPL" || st.Bars != 1 || st.Dataset != "XNAS.ITCH" || st.Start != "2019-01-02" || st.End != "2019-01-02" {
		t.Fatalf("AAPL after ES.c.0: %+v (page errors: %v)", st, p.errors())
	}

	// A range and back-adjustment. 2024-03-11..22: ten trading days, ESH4
	// until the roll on the 15th.
	st = open[chartState](t, p, "/?symbols=ES.c.0&interval=1d&start=2024-03-11&end=2024-03-22&adjust=ratio", "window.hdi.chart")
	roll := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC).Unix()
	if st.Symbol != "ES.c.0" || st.Bars != 10 || st.Adjust != "ratio" || len(st.Rolls) != 1 || st.Rolls[0] != "roll ESH4→ESM4" ||
		st.First >= roll || st.Last < roll || st.Canvases == 0 {
		t.Fatalf("chart: %+v", st)
	}
	p.screenshot(t, "serve-chart.png")

	// A range without bars says so, and where the bars are.
	st = open[chartState](t, p, "/?symbols=ES.c.0&start=2026-11-05&end=2026-12-05", "window.hdi.chart")
	const want = "no bars for ES.c.0 in 2026-11-05..2026-12-05; data exists 2024-03-11..2024-03-22"
	var n note
	p.eval(t, noteJS, &n)
	if st.Bars != 0 || st.Message != want || n.Text != want || !n.Visible {
		t.Fatalf("an empty range: %+v, shown: %+v; want %q", st, n, want)
	}
	p.screenshot(t, "serve-chart-empty.png")

	// An unknown symbol, and one whose bars are in two datasets: the page
	// shows the API's problem, word for word.
	var failed []string
	for _, path := range []string{
		"/?symbols=ESZ9&dataset=GLBX.MDP3&start=2024-03-11&end=2024-03-22",
		"/?symbols=MSFT&start=2019-01-01&end=2022-12-31",
	} {
		st = open[chartState](t, p, path, "window.hdi.chart")
		code, ct, body := ts.get(t, st.Error.Request)
		var prob struct{ Detail string }
		if err := json.Unmarshal(body, &prob); err != nil || code < 400 || code >= 500 || ct != "application/problem+json" {
			t.Fatalf("%s: the page asked %q: %d %s %s", path, st.Error.Request, code, ct, body)
		}
		p.eval(t, noteJS, &n)
		if st.Bars != 0 || st.Error.Status != code || st.Error.Detail != prob.Detail || n.Text != prob.Detail || !n.Visible {
			t.Fatalf("%s: %+v, shown: %+v; the API says %d %q", path, st, n, code, prob.Detail)
		}
		failed = append(failed, st.Error.Request)
	}
	p.screenshot(t, "serve-chart-problem.png")

	// The coverage heat map over everything loaded: five years, one cell a
	// month, every cell with rows drawn at a readable size, in view.
	type coverageState struct {
		Series, Days, Cells, Columns int
		Bucket                       string
		Labels                       []string
	}
	cov := open[coverageState](t, p, "/#coverage", "window.hdi.coverage")
	if cov.Bucket != "month" || cov.Days < 5*365 || cov.Columns < 60 || cov.Columns > 100 || cov.Series < 25 {
		t.Fatalf("coverage: %+v", cov)
	}
	// Raw symbols of the period, the instrument id only where nothing names it.
	for _, l := range []string{"ohlcv_1d · AAPL · XNAS.ITCH", "ohlcv_1d · MSFT · XNAS.ITCH", "definition · MSFT · XNAS.ITCH",
		"ohlcv_1d · MSFT · DBEQ.BASIC", "trades · ESH1 · GLBX.MDP3", "trades · ESM4 · GLBX.MDP3", "statistics · instrument 146945 · GLBX.MDP3"} {
		if !slices.Contains(cov.Labels, l) {
			t.Errorf("coverage: no series %q in %q", l, cov.Labels)
		}
	}
	for _, l := range cov.Labels {
		if strings.Contains(l, "instrument ") && !strings.Contains(l, "146945") {
			t.Errorf("coverage: %q names an instrument id where a mapping names the contract", l)
		}
	}
	type visibleCells struct{ Cells, Visible, MinWidth, MinHeight float64 }
	const visibleJS = `(() => {
		const box = document.querySelector('#heatmap').getBoundingClientRect();
		const cells = [...document.querySelectorAll('#heatmap .cell.has')];
		let visible = 0, minW = 1e9, minH = 1e9;
		for (const c of cells) {
			const r = c.getBoundingClientRect(), bg = getComputedStyle(c).backgroundColor;
			minW = Math.min(minW, r.width); minH = Math.min(minH, r.height);
			if (r.width >= 6 && r.height >= 6 && r.left >= box.left && r.right <= box.right && bg !== 'rgba(0, 0, 0, 0)') visible++;
		}
		return { cells: cells.length, visible, minWidth: minW, minHeight: minH };
	})()`
	var vis visibleCells
	p.eval(t, visibleJS, &vis)
	if vis.Cells != float64(cov.Cells) || vis.Visible == 0 || vis.Visible != vis.Cells || vis.MinWidth < 6 || vis.MinHeight < 6 {
		t.Fatalf("coverage cells: %+v of %+v", vis, cov)
	}
	p.screenshot(t, "serve-coverage.png")

	// Days over the same five years: too wide for the page, so it scrolls
	// sideways; the cells keep their size and the first ones are in view.
	p.run(t, `document.querySelector('#coverage-form').bucket.value = 'day';
		document.querySelector('#coverage-form button').click();`)
	cov = wait[coverageState](t, p, "window.hdi.coverage")
	p.eval(t, visibleJS, &vis)
	if cov.Bucket != "day" || cov.Columns != cov.Days || vis.Visible == 0 || vis.Visible >= vis.Cells || vis.MinWidth < 6 || vis.MinHeight < 6 {
		t.Fatalf("coverage by day: %+v, cells %+v", cov, vis)
	}
	p.screenshot(t, "serve-coverage-days.png")

	// A live stream recording (as hdi stream's statements leave it): the
	// runs view shows it above the runs, and its session among them.
	db := pgtest.Connect(t, dbURL)
	liveRun := pgtest.Scalar[int64](t, db, `INSERT INTO runs (job, parameters, kind, live_stream) VALUES ('es-live', '{}', 'live', 'es-live') RETURNING run_id`)
	if _, err := db.Exec(context.Background(), `INSERT INTO live_streams (name, provider, dataset, streams, job, state, run_id, host, pid, started_at, heartbeat_at)
		VALUES ('es-live', 'databento', 'GLBX.MDP3', '{trades}', '{}', 'streaming', $1, 'here', 42, now(), now())`, liveRun); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), `INSERT INTO live_positions (name, stream, target_table, ts_ns, source_ts, rows_total)
		VALUES ('es-live', 'trades', 'trades', 1710511200000000000, now() - interval '2 seconds', 1234)`); err != nil {
		t.Fatal(err)
	}
	type runsState struct{ Count int }
	if runs := open[runsState](t, p, "/#runs", "window.hdi.runs"); runs.Count == 0 {
		t.Fatalf("runs: %+v", runs)
	}
	type streamsState struct {
		Count  int
		States []string
	}
	var shown struct{ Table, Row string }
	streams := wait[streamsState](t, p, "window.hdi.streams")
	p.eval(t, `({table: document.querySelector('#streams-table').hidden ? 'hidden' : 'shown',
		row: document.querySelector('#streams-table tbody tr').innerText,
		})`, &shown)
	var liveRow string
	p.eval(t, fmt.Sprintf(`document.querySelector('#runs-table tr[data-run="%d"]').innerText`, liveRun), &liveRow)
	if streams.Count != 1 || len(streams.States) != 1 || streams.States[0] != "streaming" || shown.Table != "shown" ||
		!strings.Contains(shown.Row, "es-live") || !strings.Contains(shown.Row, "1234") || !strings.Contains(liveRow, "live stream es-live") {
		t.Fatalf("the live stream in the runs view: %+v, table %+v, its run's row %q", streams, shown, liveRow)
	}
	p.mu.Lock()
	foreign := p.foreign
	p.mu.Unlock()
	if errs := p.errors(failed...); len(errs) > 0 || len(foreign) > 0 {
		t.Fatalf("page errors %v; requests to other hosts %v", errs, foreign)
	}
}

// TestRunButtonsInABrowser: the runs view asks for a token; a read token
// sees no start, cancel or retry; a run token starts a run of a job,
// cancels it and retries a run's quarantined rows, each answered on the
// page, and the server did each.
func TestRunButtonsInABrowser(t *testing.T) {
	tm := newTeam(t)
	// A run with a quarantined row: a price that does not parse.
	dir := t.TempDir()
	csv := "ts,symbol,price\n2024-03-01 14:30:00,ESH4,5100.25\n2024-03-01 14:31:00,ESH4,51O0.50\n"
	if err := os.WriteFile(filepath.Join(dir, "prices.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.db.Exec(t.Context(), "CREATE TABLE my_prices (ts timestamptz NOT NULL, symbol text NOT NULL, price numeric(12,4), UNIQUE (symbol, ts))"); err != nil {
		t.Fatal(err)
	}
	if out, err := hdi(tm.url, "ingest", "--provider", "csv", "--file", filepath.Join(dir, "prices.csv"), "--table", "my_prices").CombinedOutput(); err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	quarantined := pgtest.Scalar[int64](t, tm.db, "SELECT run_id FROM runs WHERE rows_quarantined > 0")
	ts := tm.server(t, serve.Options{})
	p := openPage(t, ts)

	type access struct{ Token, Scope string }
	type runs struct {
		Count, Cancel, Retry int
		Start                bool
	}
	type action struct {
		Name, Detail string
		OK           bool
		Run          int64
	}
	if a := open[access](t, p, "/#runs", "window.hdi.access"); a.Scope != "none" {
		t.Fatalf("without a token: %+v", a)
	}
	var formShown bool
	p.eval(t, `!document.querySelector('#token-form').hidden`, &formShown)
	if !formShown {
		t.Fatal("the page does not ask for the token")
	}
	useToken := func(scope string) runs {
		t.Helper()
		p.run(t, fmt.Sprintf(`document.querySelector('#token').value = %q; document.querySelector('#token-form button').click();`, tm.tokens[scope]))
		return wait[runs](t, p, fmt.Sprintf("(window.hdi.access && window.hdi.access.scope === %q && window.hdi.runs) || null", scope))
	}
	if r := useToken("read"); r.Start || r.Cancel != 0 || r.Retry != 0 || r.Count == 0 {
		t.Fatalf("a read token's runs view: %+v", r)
	}
	var buttons int
	p.eval(t, `document.querySelectorAll('#runs-table button').length`, &buttons)
	if buttons != 0 {
		t.Fatalf("a read token sees %d buttons", buttons)
	}
	if r := useToken("run"); !r.Start || r.Retry != 1 {
		t.Fatalf("a run token's runs view: %+v", r)
	}
	var who string
	p.eval(t, `document.querySelector('#whoami').textContent`, &who)
	if who != "token run-token (run)" {
		t.Errorf("the header says %q", who)
	}
	act := func(js string) action {
		t.Helper()
		p.run(t, "window.hdi.action = null; "+js)
		return wait[action](t, p, "window.hdi.action")
	}
	started := act(`const f = document.querySelector('#run-form'); f.job.value = 'team-trades'; f.force.checked = true; f.querySelector('button').click();`)
	if !started.OK || started.Run == 0 || !strings.Contains(started.Detail, fmt.Sprintf("queued run %d", started.Run)) {
		t.Fatalf("start: %+v", started)
	}
	p.screenshot(t, "serve-runs-buttons.png")
	cancelled := act(fmt.Sprintf(`document.querySelector('#runs-table tr[data-run="%d"] button.cancel').click();`, started.Run))
	if status := pgtest.Scalar[string](t, tm.db, "SELECT status FROM runs WHERE run_id = $1", started.Run); !cancelled.OK || status != "cancelled" {
		t.Fatalf("cancel: %+v, the run is %s", cancelled, status)
	}
	retried := act(fmt.Sprintf(`document.querySelector('#runs-table tr[data-run="%d"] button.retry').click();`, quarantined))
	if !retried.OK || !strings.Contains(retried.Detail, fmt.Sprintf("of run %d", quarantined)) {
		t.Fatalf("retry: %+v", retried)
	}
	for _, route := range []string{"/api/v1/runs", "/api/v1/runs/{id}/cancel", "/api/v1/quarantine/{run}/retry"} {
		if n := pgtest.Scalar[int64](t, tm.db, "SELECT count(*) FROM audit_log WHERE token_name = 'run-token' AND route = $1 AND status < 300", route); n != 1 {
			t.Errorf("%s: %d audit rows of run-token", route, n)
		}
	}
	if errs := p.errors("/api/v1/whoami", "/api/v1/runs?limit=50", "/api/v1/streams", "/api/v1/jobs"); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}
