package serve_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/serve"
)

// The user query files of TestChartAnalyticsInABrowser: an overlay (the
// average close of the last n daily bars), a pane (each bar's high minus
// low), and a query without a ts column, which cannot be drawn.
var chartQueries = map[string]string{
	"sma.sql": `-- Sma: the average close of the last n daily bars.
-- @chart overlay
-- @param n integer "bars in the average"
-- name: Sma :many
SELECT b.ts, p.symbol::text AS symbol,
       avg(fixed_to_numeric(b.close)) OVER (PARTITION BY p.symbol ORDER BY b.ts ROWS BETWEEN @n::int - 1 PRECEDING AND CURRENT ROW) AS sma
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
JOIN ohlcv_1d b ON b.dataset = @dataset::text AND b.instrument_id = p.instrument_id AND b.ts >= p.from_ts AND b.ts < p.to_ts
ORDER BY b.ts;
`,
	"range.sql": `-- BarRange: each daily bar's high minus its low.
-- @chart pane
-- name: BarRange :many
SELECT b.ts, p.symbol::text AS symbol, fixed_to_numeric(b.high - b.low) AS hl
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
JOIN ohlcv_1d b ON b.dataset = @dataset::text AND b.instrument_id = p.instrument_id AND b.ts >= p.from_ts AND b.ts < p.to_ts
ORDER BY b.ts;
`,
	"counted.sql": `-- Counted: how many daily bars a dataset has in a range.
-- name: Counted :many
SELECT count(*) AS bars FROM ohlcv_1d WHERE dataset = @dataset AND ts >= @start_ts::timestamptz AND ts < @end_ts::timestamptz;
`,
}

// offer is a query the page offers, with its chart annotation.
type offer struct{ Name, Chart string }

// analyticsState is window.hdi.analytics.
type analyticsState struct {
	Offered []offer
	Panes   []int
	Added   []struct {
		Query, Kind, Error string
		Series             []struct {
			Name, Column string
			Pane, Points int
			First        []float64
		}
	}
}

// TestChartAnalyticsInABrowser: the chart page offers the annotated queries
// (a user's queries directory's with the built-in ones) first; an overlay query draws on the price
// scale and a pane query in a pane below, each with a point per bar and
// the values Go computes from the same bars (GET /api/v1/bars), and again
// for another range of the chart; a query
// that fails, and one without a ts column, say why on the page while the
// bars and the other analytics stay; removing an overlay takes its line
// off the chart, and a pane's goes with its pane.
func TestChartAnalyticsInABrowser(t *testing.T) {
	dir := t.TempDir()
	for name, src := range chartQueries {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := newServer(t, demoDB(t), serve.Options{}, dir)

	// The API lists each query's annotation.
	var list []offer
	if err := json.Unmarshal(ts.mustGet(t, "/api/v1/queries"), &list); err != nil {
		t.Fatal(err)
	}
	charts := map[string]string{}
	for _, q := range list {
		charts[q.Name] = q.Chart
	}
	if charts["Sma"] != "overlay" || charts["BarRange"] != "pane" || charts["Counted"] != "" || charts["SymbolBars1d"] != "" {
		t.Fatalf("/api/v1/queries: the charts %v", charts)
	}

	// What Go computes from the bars the chart draws.
	const rng = "symbols=ES.c.0&dataset=GLBX.MDP3&start=2024-03-11&end=2024-03-22"
	var bars []struct{ Symbol, High, Low, Close string }
	if err := json.Unmarshal(ts.mustGet(t, "/api/v1/bars?interval=1d&format=json&"+rng), &bars); err != nil || len(bars) != 10 {
		t.Fatalf("bars: %d, %v", len(bars), err)
	}
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var sma, hl []float64
	for i, b := range bars {
		sum, n := 0.0, 0
		for j := max(0, i-2); j <= i; j++ {
			sum, n = sum+num(bars[j].Close), n+1
		}
		sma = append(sma, sum/float64(n))
		hl = append(hl, num(b.High)-num(b.Low))
	}
	if sma[0] == sma[2] || hl[0] == 0 {
		t.Fatalf("bars too flat to tell the values apart: sma %v, hl %v", sma, hl)
	}

	p := openPage(t, ts)
	if st := open[chartState](t, p, "/?interval=1d&"+rng, "window.hdi.chart"); st.Bars != 10 {
		t.Fatalf("the chart: %+v (page errors: %v)", st, p.errors())
	}
	st := wait[analyticsState](t, p, analyticsReady)
	// Overlays, then panes (the user's with the built-in indicators), then
	// the others.
	order := map[string]int{"overlay": 0, "pane": 1, "": 2}
	sorted := slices.IsSortedFunc(st.Offered, func(a, b offer) int { return order[a.Chart] - order[b.Chart] })
	if !sorted || !slices.Contains(st.Offered, offer{"Sma", "overlay"}) || !slices.Contains(st.Offered, offer{"BarRange", "pane"}) ||
		!slices.Contains(st.Offered, offer{"Counted", ""}) || len(st.Added) != 0 || fmt.Sprint(st.Panes) != "[2]" {
		t.Fatalf("offered: %+v", st)
	}

	add := func(query string, params map[string]string) analyticsState {
		t.Helper()
		return addAnalytic(t, p, query, params)
	}
	near := func(got, want []float64) bool {
		if len(got) == 0 || len(got) > len(want) {
			return false
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9*math.Abs(want[i]) {
				return false
			}
		}
		return true
	}
	st = add("Sma", map[string]string{"n": "3"})
	if len(st.Added) != 1 || st.Added[0].Error != "" || len(st.Added[0].Series) != 1 || fmt.Sprint(st.Panes) != "[3]" {
		t.Fatalf("the overlay: %+v (page errors: %v)", st, p.errors())
	}
	if s := st.Added[0].Series[0]; s.Name != "Sma.sma" || s.Pane != 0 || s.Points != 10 || len(s.First) != 5 || !near(s.First, sma) {
		t.Fatalf("the overlay's line: %+v; Go computes %v", s, sma)
	}
	st = add("BarRange", nil)
	if len(st.Added) != 2 || fmt.Sprint(st.Panes) != "[3 1]" {
		t.Fatalf("the pane: %+v", st)
	}
	if s := st.Added[1].Series; len(s) != 1 || s[0].Name != "BarRange.hl" || s[0].Pane != 1 || s[0].Points != 10 || !near(s[0].First, hl) {
		t.Fatalf("the pane's line: %+v; Go computes %v", s, hl)
	}
	p.screenshot(t, "serve-chart-analytics.png")

	// Another range on the chart: the analytics are called again for it.
	p.run(t, `window.hdi.analytics = null; { const f = document.querySelector('#chart-form'); f.start.value = '2024-03-18'; f.querySelector('button').click(); }`)
	st = wait[analyticsState](t, p, analyticsReady)
	if len(st.Added) != 2 || len(st.Added[0].Series) != 1 || len(st.Added[1].Series) != 1 ||
		st.Added[0].Series[0].Points != 5 || st.Added[1].Series[0].Points != 5 || !near(st.Added[1].Series[0].First, hl[5:]) ||
		st.Added[0].Series[0].First[0] != num(bars[5].Close) {
		t.Fatalf("the analytics of 2024-03-18..22: %+v", st)
	}
	p.run(t, `window.hdi.analytics = null; { const f = document.querySelector('#chart-form'); f.start.value = '2024-03-11'; f.querySelector('button').click(); }`)
	if st = wait[analyticsState](t, p, analyticsReady); st.Added[0].Series[0].Points != 10 {
		t.Fatalf("back to 2024-03-11..22: %+v", st)
	}

	// A query the database refuses (a window of no bars) shows the API's
	// problem; one without a ts column says so; the rest stays drawn.
	code, _, body := ts.get(t, "/api/v1/queries/Sma?format=json&n=0&symbols=ES.c.0&dataset=GLBX.MDP3&start_ts=2024-03-11&end_ts=2024-03-22")
	var prob struct{ Detail string }
	if err := json.Unmarshal(body, &prob); err != nil || code < 400 || prob.Detail == "" {
		t.Fatalf("Sma with n=0: %d %s", code, body)
	}
	add("Sma", map[string]string{"n": "0"})
	st = add("Counted", nil)
	var shown struct{ Status, Failed string }
	p.eval(t, `({status: document.querySelector('#analytics-status').innerText,
		failed: [...document.querySelectorAll('#analytics-list li.error')].map((li) => li.dataset.query).join(',')})`, &shown)
	wantErrs := []string{"Sma: " + prob.Detail, "Counted: the result has no ts column"}
	if len(st.Added) != 4 || st.Added[2].Error != wantErrs[0] || !strings.HasPrefix(st.Added[3].Error, wantErrs[1]) ||
		!strings.Contains(shown.Status, wantErrs[0]) || !strings.Contains(shown.Status, wantErrs[1]) || shown.Failed != "Sma,Counted" ||
		fmt.Sprint(st.Panes) != "[3 1]" || st.Added[0].Series[0].Points != 10 {
		t.Fatalf("failing queries: %+v, shown %+v; want %q", st, shown, wantErrs)
	}
	if c := wait[chartState](t, p, "window.hdi.chart"); c.Bars != 10 || c.Message != "" {
		t.Fatalf("the bars after failing analytics: %+v", c)
	}
	p.screenshot(t, "serve-chart-analytics-errors.png")

	// Removing: the failed ones, then the overlay (its line leaves the price
	// pane), then the pane query (its pane goes).
	remove := func(nth int) analyticsState {
		t.Helper()
		p.run(t, fmt.Sprintf(`document.querySelectorAll('#analytics-list li button.remove')[%d].click();`, nth))
		return wait[analyticsState](t, p, analyticsReady)
	}
	remove(3)
	remove(2)
	if st = remove(0); len(st.Added) != 1 || st.Added[0].Query != "BarRange" || fmt.Sprint(st.Panes) != "[2 1]" {
		t.Fatalf("after removing the overlay: %+v", st)
	}
	if st = remove(0); len(st.Added) != 0 || fmt.Sprint(st.Panes) != "[2]" {
		t.Fatalf("after removing the pane: %+v", st)
	}
	if errs := p.errors("/api/v1/queries/Sma?format=json&n=0&dataset=GLBX.MDP3&symbols=ES.c.0&start_ts=2024-03-11&end_ts=2024-03-22"); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}
