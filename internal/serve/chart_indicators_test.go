package serve_test

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/serve"
)

// The built-in indicator queries drawn on the chart, checked against what
// Go computes from the bars and trades of the API: every formula is
// written again here (docs/queries.md, "Indicators").

// gbar is a bar of GET /api/v1/bars.
type gbar struct {
	ts                time.Time
	inst              string
	high, low, close_ float64
	prev              float64 // the close of the same contract's previous bar; NaN: none
}

// getBars reads the bars of symbols over [start, end] at interval.
func getBars(t *testing.T, ts *testServer, symbols, interval, start, end string) []gbar {
	t.Helper()
	var rows []struct {
		InstrumentID     any    `json:"instrument_id"`
		TsEvent          string `json:"ts_event"`
		High, Low, Close string
	}
	path := fmt.Sprintf("/api/v1/bars?format=json&dataset=GLBX.MDP3&symbols=%s&interval=%s&start=%s&end=%s", symbols, interval, start, end)
	if err := json.Unmarshal(ts.mustGet(t, path), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	out := make([]gbar, len(rows))
	for i, r := range rows {
		at, err := time.Parse(time.RFC3339Nano, r.TsEvent)
		if err != nil {
			t.Fatalf("%s: ts_event %q: %v", path, r.TsEvent, err)
		}
		out[i] = gbar{ts: at, inst: fmt.Sprint(r.InstrumentID), high: parseNum(t, r.High), low: parseNum(t, r.Low), close_: parseNum(t, r.Close), prev: math.NaN()}
	}
	return out
}

func parseNum(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// withPrev sets each bar's prev from contracts: the bars of the series'
// contracts, from before the series starts.
func withPrev(series, contracts []gbar) {
	by := map[string][]gbar{}
	for _, b := range contracts {
		by[b.inst] = append(by[b.inst], b)
	}
	for i, b := range series {
		cs := by[b.inst]
		if k := sort.Search(len(cs), func(k int) bool { return !cs[k].ts.Before(b.ts) }); k > 0 {
			series[i].prev = cs[k-1].close_
		}
	}
}

// The indicators, one value per bar (NaN: NULL).

func realizedVol(bars []gbar, n int, ppy float64) (rv, pk []float64) {
	for i := range bars {
		rv, pk = append(rv, math.NaN()), append(pk, math.NaN())
		if i < n-1 {
			continue
		}
		w := bars[i-n+1 : i+1]
		var lr []float64
		sumHL := 0.0
		for _, b := range w {
			if !math.IsNaN(b.prev) {
				lr = append(lr, math.Log(b.close_/b.prev))
			}
			sumHL += math.Pow(math.Log(b.high/b.low), 2)
		}
		pk[i] = math.Sqrt(sumHL / (4 * math.Ln2 * float64(n)) * ppy)
		if len(lr) == n {
			mean := 0.0
			for _, x := range lr {
				mean += x / float64(n)
			}
			ss := 0.0
			for _, x := range lr {
				ss += (x - mean) * (x - mean)
			}
			rv[i] = math.Sqrt(ss/float64(n-1)) * math.Sqrt(ppy)
		}
	}
	return rv, pk
}

func movingAverages(bars []gbar, n int, k float64) (sma, ema, upper, lower []float64) {
	a := 2 / float64(n+1)
	for i := range bars {
		sma, ema, upper, lower = append(sma, math.NaN()), append(ema, math.NaN()), append(upper, math.NaN()), append(lower, math.NaN())
		if i < n-1 {
			continue
		}
		m := 0.0
		for _, b := range bars[i-n+1 : i+1] {
			m += b.close_ / float64(n)
		}
		v := 0.0
		for _, b := range bars[i-n+1 : i+1] {
			v += (b.close_ - m) * (b.close_ - m) / float64(n)
		}
		sma[i], upper[i], lower[i] = m, m+k*math.Sqrt(v), m-k*math.Sqrt(v)
		if i == n-1 {
			ema[i] = m
		} else {
			ema[i] = a*bars[i].close_ + (1-a)*ema[i-1]
		}
	}
	return sma, ema, upper, lower
}

// rsiAtr leaves out the bars without a previous close, as the query does.
func rsiAtr(bars []gbar, n int) (rsi, atr []float64) {
	var ag, al, at float64
	j := 0
	for _, b := range bars {
		if math.IsNaN(b.prev) {
			continue
		}
		g, l := math.Max(b.close_-b.prev, 0), math.Max(b.prev-b.close_, 0)
		tr := math.Max(b.high-b.low, math.Max(math.Abs(b.high-b.prev), math.Abs(b.low-b.prev)))
		if j < n {
			ag, al, at = ag+g/float64(n), al+l/float64(n), at+tr/float64(n)
		} else {
			ag, al, at = (ag*float64(n-1)+g)/float64(n), (al*float64(n-1)+l)/float64(n), (at*float64(n-1)+tr)/float64(n)
		}
		j++
		if j < n {
			rsi, atr = append(rsi, math.NaN()), append(atr, math.NaN())
			continue
		}
		r := 50.0
		if al > 0 {
			r = 100 - 100/(1+ag/al)
		} else if ag > 0 {
			r = 100
		}
		rsi, atr = append(rsi, r), append(atr, at)
	}
	return rsi, atr
}

// vwap is the session (UTC day) VWAP of symbol's trades at the end of
// each bar of width w, and each bar's own, from GET /api/v1/trades.
func vwap(t *testing.T, ts *testServer, symbol, start, end string, w time.Duration) (cum, bar []float64) {
	t.Helper()
	var rows []struct {
		InstrumentID any    `json:"instrument_id"`
		TsRecv       string `json:"ts_recv"`
		Price        string
		Size         float64
	}
	path := fmt.Sprintf("/api/v1/trades?format=json&dataset=GLBX.MDP3&symbols=%s&start=%s&end=%s", symbol, start, end)
	if err := json.Unmarshal(ts.mustGet(t, path), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	type key struct {
		day, inst string
		bucket    time.Time
	}
	var order []key
	pv, vol := map[key]float64{}, map[key]float64{}
	for _, r := range rows {
		at, err := time.Parse(time.RFC3339Nano, r.TsRecv)
		if err != nil {
			t.Fatal(err)
		}
		if r.Size == 0 {
			continue
		}
		at = at.UTC()
		k := key{at.Format(time.DateOnly), fmt.Sprint(r.InstrumentID), at.Truncate(w)}
		if _, ok := vol[k]; !ok {
			order = append(order, k)
		}
		pv[k] += parseNum(t, r.Price) * r.Size
		vol[k] += r.Size
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].bucket.Before(order[j].bucket) })
	var spv, svol float64
	for i, k := range order {
		if i == 0 || k.day != order[i-1].day || k.inst != order[i-1].inst {
			spv, svol = 0, 0
		}
		spv, svol = spv+pv[k], svol+vol[k]
		cum, bar = append(cum, spv/svol), append(bar, pv[k]/vol[k])
	}
	return cum, bar
}

// drawn is what the page should show of one column: its points and first
// (at most five) values.
type drawn struct {
	points int
	first  []float64
}

func drawnOf(vals []float64) drawn {
	var d drawn
	for _, v := range vals {
		if !math.IsNaN(v) {
			d.points++
			if len(d.first) < 5 {
				d.first = append(d.first, v)
			}
		}
	}
	return d
}

// addAnalytic picks a query on the chart page, fills in its own
// parameters, adds it and returns what the page then drew.
func addAnalytic(t *testing.T, p *page, query string, params map[string]string) analyticsState {
	t.Helper()
	js := fmt.Sprintf(`{ const f = document.querySelector('#analytics-form');
		f.query.value = %q; f.query.dispatchEvent(new Event('change'));`, query)
	for k, v := range params {
		js += fmt.Sprintf(`f.querySelector('[data-param=%q]').value = %q;`, k, v)
	}
	p.run(t, js+`f.querySelector('button').click(); }`)
	return wait[analyticsState](t, p, analyticsReady)
}

const analyticsReady = "(window.hdi.analytics && window.hdi.analytics.offered.length) ? window.hdi.analytics : null"

// checkDrawn compares the page's series (query.column) with want.
func checkDrawn(t *testing.T, st analyticsState, want map[string]drawn) {
	t.Helper()
	got := map[string]drawn{}
	pane := map[string]int{}
	for _, a := range st.Added {
		if a.Error != "" {
			t.Errorf("%s: %s", a.Query, a.Error)
		}
		for _, s := range a.Series {
			got[s.Name] = drawn{s.Points, s.First}
			pane[a.Query] = s.Pane
		}
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: not drawn (drawn: %v)", name, got)
			continue
		}
		same := g.points == w.points && len(g.first) == len(w.first)
		for i := 0; same && i < len(w.first); i++ {
			same = math.Abs(g.first[i]-w.first[i]) <= 1e-9*math.Abs(w.first[i])+1e-12
		}
		if !same {
			t.Errorf("%s: the page drew %d points, first %v; Go computes %d, first %v", name, g.points, g.first, w.points, w.first)
		}
	}
	if len(got) != len(want) {
		t.Errorf("drawn %d series, want %d: %v", len(got), len(want), got)
	}
}

// TestChartIndicatorsInABrowser: a quant draws the built-in indicators of
// ES.c.0 across its roll (ESH4 to ESM4 on 2024-03-15) on the chart page:
// MovingAverages and Vwap on the price scale, RsiAtr and RealizedVol each
// in a pane below, on daily bars with the windows typed in, and on 1-minute
// bars with every parameter left to its default. Each line has the points
// and first values Go computes from the API's bars and trades, each
// change taken against the same contract's previous close.
func TestChartIndicatorsInABrowser(t *testing.T) {
	ts := newServer(t, demoDB(t), serve.Options{})
	p := openPage(t, ts)
	drawAll := func(interval, start, end string, params map[string]map[string]string) analyticsState {
		t.Helper()
		path := fmt.Sprintf("/?symbols=ES.c.0&dataset=GLBX.MDP3&interval=%s&start=%s&end=%s", interval, start, end)
		if st := open[chartState](t, p, path, "window.hdi.chart"); st.Bars == 0 || len(st.Rolls) != 1 {
			t.Fatalf("the chart of %s: %+v (page errors: %v)", path, st, p.errors())
		}
		st := wait[analyticsState](t, p, analyticsReady)
		offered := map[string]string{}
		for _, o := range st.Offered {
			offered[o.Name] = o.Chart
		}
		for q, kind := range map[string]string{"MovingAverages": "overlay", "Vwap": "overlay", "RsiAtr": "pane", "RealizedVol": "pane"} {
			if offered[q] != kind {
				t.Fatalf("%s is offered as %q, want %q: %v", q, offered[q], kind, st.Offered)
			}
		}
		for _, q := range []string{"MovingAverages", "RsiAtr", "RealizedVol", "Vwap"} {
			st = addAnalytic(t, p, q, params[q])
		}
		// The price pane: candles, volume, 4 averages and 2 VWAPs; then a
		// pane for RsiAtr and one for RealizedVol.
		if fmt.Sprint(st.Panes) != "[8 2 2]" {
			t.Errorf("%s: panes %v, want [8 2 2]", path, st.Panes)
		}
		return st
	}
	expect := func(interval, start, end string, n map[string]int, ppy float64, w time.Duration) map[string]drawn {
		t.Helper()
		series := getBars(t, ts, "ES.c.0", interval, start, end)
		withPrev(series, getBars(t, ts, "ESH4,ESM4", interval, "2024-03-11", "2024-03-22"))
		want := map[string]drawn{}
		sma, ema, up, lo := movingAverages(series, n["MovingAverages"], 2)
		rsi, atr := rsiAtr(series, n["RsiAtr"])
		rv, pk := realizedVol(series, n["RealizedVol"], ppy)
		cum, bar := vwap(t, ts, "ES.c.0", start, end, w)
		for name, v := range map[string][]float64{"MovingAverages.sma": sma, "MovingAverages.ema": ema, "MovingAverages.bb_upper": up,
			"MovingAverages.bb_lower": lo, "RsiAtr.rsi": rsi, "RsiAtr.atr": atr, "RealizedVol.realized_vol": rv,
			"RealizedVol.parkinson_vol": pk, "Vwap.vwap": cum, "Vwap.bar_vwap": bar} {
			want[name] = drawnOf(v)
		}
		return want
	}

	// Daily bars, 2024-03-11..22 (10 bars, 4 of ESH4 and 6 of ESM4), with
	// short windows typed in.
	st := drawAll("1d", "2024-03-11", "2024-03-22", map[string]map[string]string{
		"MovingAverages": {"n": "3"}, "RsiAtr": {"n": "3"}, "RealizedVol": {"n": "5"}})
	want := expect("1d", "2024-03-11", "2024-03-22", map[string]int{"MovingAverages": 3, "RsiAtr": 3, "RealizedVol": 5}, 252, 24*time.Hour)
	// The first bar has no earlier one: RsiAtr leaves it out, its return is NULL.
	for name, points := range map[string]int{"MovingAverages.sma": 8, "RsiAtr.rsi": 7, "RealizedVol.realized_vol": 5, "RealizedVol.parkinson_vol": 6, "Vwap.vwap": 10} {
		if want[name].points != points {
			t.Fatalf("Go computes %d points of %s, want %d: the demo data changed?", want[name].points, name, points)
		}
	}
	checkDrawn(t, st, want)
	p.screenshot(t, "serve-chart-indicators-1d.png")

	// RsiAtr's default window (14 bars) is longer than the range's 10 daily
	// bars: the page says why nothing is drawn, and the rest stays.
	st = addAnalytic(t, p, "RsiAtr", nil)
	if last := st.Added[len(st.Added)-1]; !strings.HasPrefix(last.Error, "RsiAtr: rsi, atr are empty (NULL) in every row of this range") ||
		len(last.Series) != 0 || fmt.Sprint(st.Panes) != "[8 2 2]" {
		t.Errorf("RsiAtr with n 14 over 10 bars: %+v", st)
	}

	// 1-minute bars of the two days around the roll, every window left to
	// its default (MovingAverages 20, RsiAtr 14, RealizedVol 20 bars, one
	// year of 252 days of 1440 minutes).
	st = drawAll("1m", "2024-03-14", "2024-03-15", nil)
	want = expect("1m", "2024-03-14", "2024-03-15", map[string]int{"MovingAverages": 20, "RsiAtr": 14, "RealizedVol": 20}, 252*1440, time.Minute)
	if want["RealizedVol.realized_vol"].points < 2000 {
		t.Fatalf("Go computes %d points of RealizedVol.realized_vol: the demo data changed?", want["RealizedVol.realized_vol"].points)
	}
	checkDrawn(t, st, want)
	if errs := p.errors(); len(errs) > 0 {
		t.Fatalf("page errors: %v", errs)
	}
}
