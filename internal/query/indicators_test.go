package query_test

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/output"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/query/querytest"
	"github.com/hdi-dev/hdi/internal/synth"
)

// The indicator queries (sql/queries/indicators.sql) are checked against
// values a plain Go loop computes from the stored rows: the bars (or
// trades) are read as they are, the continuous series and each bar's
// previous close of the same contract are put together here, and every
// formula is written again in Go.

// ibar is one stored bar: fixed-point prices (1e-9), nil for NULL.
type ibar struct {
	ts              time.Time
	high, low, clos *int64
}

// sbar is a bar of a symbol's series with the previous close of its own
// contract (nil: none).
type sbar struct {
	ts              time.Time
	high, low, clos int64
	prev            *int64
}

// irow is a result row: ts, symbol and its numeric columns (nil: NULL).
type irow struct {
	ts     time.Time
	symbol string
	vals   map[string]*big.Rat
}

// indicatorRows runs a catalog query and reads its CSV output.
func indicatorRows(t *testing.T, conn *pgx.Conn, name string, values map[string]any) []irow {
	t.Helper()
	out := run(t, conn, catalog(t, ""), name, values, output.Options{Format: output.CSV})
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	if len(recs) == 0 || recs[0][0] != "ts" || recs[0][1] != "symbol" {
		t.Fatalf("%s: want columns ts, symbol, ...; got %q", name, recs)
	}
	var rows []irow
	for _, r := range recs[1:] {
		ts, err := time.Parse(time.RFC3339Nano, r[0])
		if err != nil {
			t.Fatal(err)
		}
		row := irow{ts: ts, symbol: r[1], vals: map[string]*big.Rat{}}
		for i, col := range recs[0][2:] {
			if r[i+2] == "" {
				row.vals[col] = nil
				continue
			}
			v, ok := new(big.Rat).SetString(r[i+2])
			if !ok {
				t.Fatalf("%s: %s = %q is not a decimal", name, col, r[i+2])
			}
			row.vals[col] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// storedBars reads every bar of an instrument from a bar table, in time order.
func storedBars(t *testing.T, pool *pgxpool.Pool, table string, id int64) []ibar {
	t.Helper()
	rows, err := pool.Query(context.Background(), fmt.Sprintf(`SELECT ts, high, low, close FROM %s WHERE instrument_id = $1 ORDER BY ts`, table), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []ibar
	for rows.Next() {
		var b ibar
		if err := rows.Scan(&b.ts, &b.high, &b.low, &b.clos); err != nil {
			t.Fatal(err)
		}
		b.ts = b.ts.UTC()
		out = append(out, b)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

// rollUp buckets one-minute bars into bars of width (from 2000-01-03 UTC,
// as the roll-ups): open of the first minute, highest high, lowest low,
// close of the last minute.
func rollUp(bars []ibar, width time.Duration) []ibar {
	origin := time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)
	var out []ibar
	for _, b := range bars {
		start := origin.Add(b.ts.Sub(origin) / width * width)
		if len(out) == 0 || !out[len(out)-1].ts.Equal(start) {
			out = append(out, ibar{ts: start, high: b.high, low: b.low, clos: b.clos})
			continue
		}
		o := &out[len(out)-1]
		if b.high != nil && (o.high == nil || *b.high > *o.high) {
			o.high = b.high
		}
		if b.low != nil && (o.low == nil || *b.low < *o.low) {
			o.low = b.low
		}
		o.clos = b.clos
	}
	return out
}

// series puts a symbol's series together over [start, end): on each day the
// bars of the day's contract, each with the close of the previous bar of
// that contract that has prices (any time before it). Bars without a high,
// low or close are left out.
func series(all map[int64][]ibar, of contractOf, start, end time.Time) []sbar {
	var out []sbar
	for day := start.Truncate(24 * time.Hour); day.Before(end); day = day.AddDate(0, 0, 1) {
		id := of(day)
		var prev *int64
		for _, b := range all[id] {
			if b.high == nil || b.low == nil || b.clos == nil {
				continue
			}
			if !b.ts.Before(day) && b.ts.Before(day.AddDate(0, 0, 1)) && !b.ts.Before(start) && b.ts.Before(end) {
				out = append(out, sbar{ts: b.ts, high: *b.high, low: *b.low, clos: *b.clos, prev: prev})
			}
			c := *b.clos
			prev = &c
		}
	}
	return out
}

func fx(v int64) *big.Rat { return big.NewRat(v, 1e9) }
func fxf(v int64) float64 { return float64(v) / 1e9 }
func ratf(f float64) *big.Rat {
	if math.IsNaN(f) {
		return nil
	}
	return new(big.Rat).SetFloat64(f)
}

// want is an expected value: exact (checked to 1e-12) or approximate
// (relative 1e-9, absolute 1e-12 near zero); NULL when nil.
type want struct {
	v     *big.Rat
	exact bool
}

func exact(r *big.Rat) want { return want{r, true} }
func approx(f float64) want { return want{ratf(f), false} }
func null() want            { return want{} }

func check(t *testing.T, what string, got *big.Rat, w want) {
	t.Helper()
	switch {
	case got == nil && w.v == nil:
		return
	case got == nil || w.v == nil:
		t.Errorf("%s = %v, want %v", what, ratDecimal(got), ratDecimal(w.v))
		return
	}
	diff, _ := new(big.Rat).Sub(got, w.v).Float64()
	ref, _ := w.v.Float64()
	tol := 1e-12
	if !w.exact {
		tol = math.Max(1e-12, 1e-9*math.Abs(ref))
	}
	if math.Abs(diff) > tol {
		t.Errorf("%s = %s, want %s", what, ratDecimal(got), ratDecimal(w.v))
	}
}

func ratDecimal(r *big.Rat) string {
	if r == nil {
		return "NULL"
	}
	return r.FloatString(12)
}

// checkRows compares a query's rows of one symbol with the expected values
// per bar, in order.
func checkRows(t *testing.T, name, symbol string, rows []irow, bars []sbar, expect func(i int) map[string]want) {
	t.Helper()
	var mine []irow
	for _, r := range rows {
		if r.symbol == symbol {
			mine = append(mine, r)
		}
	}
	if len(mine) != len(bars) {
		t.Fatalf("%s %s: %d rows, want %d (one per bar)", name, symbol, len(mine), len(bars))
	}
	for i, r := range mine {
		if !r.ts.Equal(bars[i].ts) {
			t.Fatalf("%s %s row %d: ts %s, want %s", name, symbol, i, r.ts, bars[i].ts)
		}
		for col, w := range expect(i) {
			if _, ok := r.vals[col]; !ok {
				t.Fatalf("%s: no column %s", name, col)
			}
			check(t, fmt.Sprintf("%s %s %s %s", name, symbol, r.ts.Format(time.RFC3339), col), r.vals[col], w)
		}
	}
}

// Reference formulas, over a symbol's series.

func refReturns(bars []sbar) func(int) map[string]want {
	return func(i int) map[string]want {
		b := bars[i]
		if b.prev == nil {
			return map[string]want{"simple_return": null(), "log_return": null()}
		}
		simple := new(big.Rat).Quo(fx(b.clos-*b.prev), fx(*b.prev))
		return map[string]want{"simple_return": exact(simple), "log_return": approx(math.Log(fxf(b.clos) / fxf(*b.prev)))}
	}
}

func refVol(bars []sbar, n int, ppy float64) func(int) map[string]want {
	return func(i int) map[string]want {
		out := map[string]want{"realized_vol": null(), "parkinson_vol": null()}
		if i+1 < n {
			return out
		}
		var lr, hl []float64
		for _, b := range bars[i+1-n : i+1] {
			if b.prev != nil {
				lr = append(lr, math.Log(fxf(b.clos)/fxf(*b.prev)))
			}
			hl = append(hl, math.Pow(math.Log(fxf(b.high)/fxf(b.low)), 2))
		}
		if len(lr) == n {
			mean := 0.0
			for _, x := range lr {
				mean += x / float64(n)
			}
			ss := 0.0
			for _, x := range lr {
				ss += (x - mean) * (x - mean)
			}
			out["realized_vol"] = approx(math.Sqrt(ss/float64(n-1)) * math.Sqrt(ppy))
		}
		sum := 0.0
		for _, x := range hl {
			sum += x
		}
		out["parkinson_vol"] = approx(math.Sqrt(sum / (4 * math.Ln2 * float64(n)) * ppy))
		return out
	}
}

func refMovingAverages(bars []sbar, n int, k float64) func(int) map[string]want {
	ema := make([]float64, len(bars))
	for i := range bars {
		switch {
		case i+1 == n:
			for _, b := range bars[:n] {
				ema[i] += fxf(b.clos) / float64(n)
			}
		case i+1 > n:
			a := 2 / float64(n+1)
			ema[i] = a*fxf(bars[i].clos) + (1-a)*ema[i-1]
		}
	}
	return func(i int) map[string]want {
		if i+1 < n {
			return map[string]want{"sma": null(), "ema": null(), "bb_upper": null(), "bb_lower": null()}
		}
		sum := new(big.Rat)
		for _, b := range bars[i+1-n : i+1] {
			sum.Add(sum, fx(b.clos))
		}
		sma := new(big.Rat).Quo(sum, big.NewRat(int64(n), 1))
		m, _ := sma.Float64()
		ss := 0.0
		for _, b := range bars[i+1-n : i+1] {
			ss += (fxf(b.clos) - m) * (fxf(b.clos) - m)
		}
		sd := math.Sqrt(ss / float64(n)) // population
		return map[string]want{"sma": exact(sma), "ema": approx(ema[i]), "bb_upper": approx(m + k*sd), "bb_lower": approx(m - k*sd)}
	}
}

// refRsiAtr returns the bars RsiAtr has rows for (those with a previous
// close) and their expected values.
func refRsiAtr(bars []sbar, n int) ([]sbar, func(int) map[string]want) {
	var with []sbar
	for _, b := range bars {
		if b.prev != nil {
			with = append(with, b)
		}
	}
	gain, loss, atr := make([]float64, len(with)), make([]float64, len(with)), make([]float64, len(with))
	for i, b := range with {
		ch := fxf(b.clos) - fxf(*b.prev)
		g, l := math.Max(ch, 0), math.Max(-ch, 0)
		tr := math.Max(fxf(b.high)-fxf(b.low), math.Max(math.Abs(fxf(b.high)-fxf(*b.prev)), math.Abs(fxf(b.low)-fxf(*b.prev))))
		switch {
		case i+1 < n:
			gain[i], loss[i], atr[i] = g, l, tr // partial sums until the n-th
			if i > 0 {
				gain[i] += gain[i-1]
				loss[i] += loss[i-1]
				atr[i] += atr[i-1]
			}
		case i+1 == n:
			gp, lp, ap := 0.0, 0.0, 0.0
			if i > 0 {
				gp, lp, ap = gain[i-1], loss[i-1], atr[i-1]
			}
			gain[i], loss[i], atr[i] = (gp+g)/float64(n), (lp+l)/float64(n), (ap+tr)/float64(n)
		default:
			gain[i] = (gain[i-1]*float64(n-1) + g) / float64(n)
			loss[i] = (loss[i-1]*float64(n-1) + l) / float64(n)
			atr[i] = (atr[i-1]*float64(n-1) + tr) / float64(n)
		}
	}
	return with, func(i int) map[string]want {
		if i+1 < n {
			return map[string]want{"rsi": null(), "atr": null()}
		}
		var rsi float64
		switch {
		case loss[i] > 0:
			rsi = 100 - 100/(1+gain[i]/loss[i])
		case gain[i] > 0:
			rsi = 100
		default:
			rsi = 50
		}
		return map[string]want{"rsi": approx(rsi), "atr": approx(atr[i])}
	}
}

// indicatorValues are the values of a bar query over a symbol and a range.
func indicatorValues(symbol, start, end, interval string, extra ...string) map[string]any {
	v := map[string]any{"dataset": "GLBX.MDP3", "symbols": symbol, "start_ts": start, "end_ts": end, "interval": interval}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

// checkBarIndicators checks Returns, RealizedVol, MovingAverages and RsiAtr
// of one symbol against the reference over its series.
func checkBarIndicators(t *testing.T, conn *pgx.Conn, symbol string, bars []sbar, start, end, interval string, n int, ppy float64) {
	t.Helper()
	ns := fmt.Sprint(n)
	checkRows(t, "Returns", symbol, indicatorRows(t, conn, "Returns", indicatorValues(symbol, start, end, interval)), bars, refReturns(bars))
	checkRows(t, "RealizedVol", symbol, indicatorRows(t, conn, "RealizedVol", indicatorValues(symbol, start, end, interval, "n", ns)), bars, refVol(bars, n, ppy))
	checkRows(t, "MovingAverages", symbol, indicatorRows(t, conn, "MovingAverages", indicatorValues(symbol, start, end, interval, "n", ns, "k", "2.5")), bars, refMovingAverages(bars, n, 2.5))
	with, ref := refRsiAtr(bars, n)
	checkRows(t, "RsiAtr", symbol, indicatorRows(t, conn, "RsiAtr", indicatorValues(symbol, start, end, interval, "n", ns)), with, ref)
}

// insertBars stores daily bars of an instrument with a raw_symbol mapping:
// closes[i] on day0+i (a NaN close: a bar with NULL prices; a negative one:
// no bar that day), high = close + 1, low = close - 1.
func insertBars(t *testing.T, pool *pgxpool.Pool, id int64, raw string, day0 time.Time, closes []float64) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
		VALUES ('GLBX.MDP3', 'raw_symbol', $1, 'instrument_id', $2, '2024-01-01', '2025-01-01', 'test')`, raw, fmt.Sprint(id)); err != nil {
		t.Fatal(err)
	}
	for i, c := range closes {
		if c < 0 {
			continue
		}
		ts := day0.AddDate(0, 0, i)
		var h, l, cl *int64
		if !math.IsNaN(c) {
			v := int64(math.Round(c * 1e9))
			hv, lv := v+1e9, v-1e9
			h, l, cl = &hv, &lv, &v
		}
		if _, err := pool.Exec(ctx, `INSERT INTO ohlcv_1d (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
			VALUES ('GLBX.MDP3', $1, $2, 35, 1, $3, $4, $4, $5, $6, 10)`, ts, ts.UnixNano(), id, h, l, cl); err != nil {
			t.Fatal(err)
		}
	}
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestIndicatorsKnownSeries: series with answers known in closed form, and
// the edges (a roll in the window, gaps, NULL prices, a window longer than
// the data, a single bar), each also against the Go reference.
func TestIndicatorsKnownSeries(t *testing.T) {
	url := querytest.Empty(t)
	pool := pgtest.Connect(t, url)
	querytest.Roll(t, pool) // ES.c.0: ESH4 (100) until 2024-03-15, then ESM4 (200)
	day0 := day("2024-02-01")
	const days = 30
	flat, ramp, gappy := make([]float64, days), make([]float64, days), make([]float64, days)
	for i := range days {
		flat[i], ramp[i], gappy[i] = 100, 100+float64(i), 50+float64(i%4)*0.25
	}
	for _, i := range []int{3, 4, 11, 20} {
		gappy[i] = -1 // no bar
	}
	gappy[7], gappy[15] = math.NaN(), math.NaN() // a bar with NULL prices
	insertBars(t, pool, 300, "FLAT", day0, flat)
	insertBars(t, pool, 400, "RAMP", day0, ramp)
	insertBars(t, pool, 500, "GAPPY", day0, gappy)
	conn := connect(t, url)
	start, end := "2024-02-01", "2024-03-01" // 30 days, end included
	const n = 5

	t.Run("constant series", func(t *testing.T) {
		for _, r := range indicatorRows(t, conn, "RealizedVol", indicatorValues("FLAT", start, end, "1d", "n", "5")) {
			if r.ts.Before(day0.AddDate(0, 0, n)) {
				continue // the first return has no earlier bar: the first full window ends on day n
			}
			check(t, "FLAT realized_vol "+r.ts.Format(time.DateOnly), r.vals["realized_vol"], exact(new(big.Rat)))
		}
		for _, r := range indicatorRows(t, conn, "RealizedVol", indicatorValues("FLAT", start, end, "1d", "n", "5")) {
			if !r.ts.Before(day0.AddDate(0, 0, n-1)) {
				// ln(101/99) every bar: Parkinson is constant, and not 0 (high > low).
				check(t, "FLAT parkinson_vol", r.vals["parkinson_vol"], approx(math.Log(101.0/99)/math.Sqrt(4*math.Ln2)*math.Sqrt(252)))
			}
		}
		rows := indicatorRows(t, conn, "RsiAtr", indicatorValues("FLAT", start, end, "1d", "n", "5"))
		if len(rows) != days-1 {
			t.Fatalf("RsiAtr FLAT: %d rows, want %d (every bar but the first, which has no previous close)", len(rows), days-1)
		}
		for _, r := range rows[n-1:] {
			check(t, "FLAT rsi", r.vals["rsi"], exact(big.NewRat(50, 1)))
			check(t, "FLAT atr", r.vals["atr"], exact(big.NewRat(2, 1)))
		}
	})

	t.Run("linear ramp", func(t *testing.T) {
		rows := indicatorRows(t, conn, "MovingAverages", indicatorValues("RAMP", start, end, "1d", "n", "5"))
		for i, r := range rows {
			if i < n-1 {
				check(t, "RAMP sma before n bars", r.vals["sma"], null())
				continue
			}
			// SMA of 5 consecutive values ends 2 below the last; the EMA of a
			// ramp seeded with the SMA stays (n-1)/2 below it too.
			w := exact(big.NewRat(int64(100+i-2), 1))
			check(t, "RAMP sma", r.vals["sma"], w)
			check(t, "RAMP ema", r.vals["ema"], w)
		}
		for _, r := range indicatorRows(t, conn, "RsiAtr", indicatorValues("RAMP", start, end, "1d", "n", "5"))[n-1:] {
			check(t, "RAMP rsi (only gains)", r.vals["rsi"], exact(big.NewRat(100, 1)))
			check(t, "RAMP atr", r.vals["atr"], exact(big.NewRat(2, 1)))
		}
		for i, r := range indicatorRows(t, conn, "Returns", indicatorValues("RAMP", start, end, "1d")) {
			if i == 0 {
				check(t, "RAMP first return", r.vals["simple_return"], null())
				continue
			}
			check(t, "RAMP simple_return", r.vals["simple_return"], exact(big.NewRat(1, int64(100+i-1))))
		}
	})

	stored := map[int64][]ibar{}
	for _, id := range []int64{100, 200, 300, 400, 500} {
		stored[id] = storedBars(t, pool, "ohlcv_1d", id)
	}
	one := func(id int64) contractOf { return func(time.Time) int64 { return id } }
	esc0 := func(d time.Time) int64 {
		if d.Before(day("2024-03-15")) {
			return 100
		}
		return 200
	}

	t.Run("against the Go loop", func(t *testing.T) {
		for _, s := range []struct {
			symbol string
			of     contractOf
		}{{"FLAT", one(300)}, {"RAMP", one(400)}, {"GAPPY", one(500)}} {
			bars := series(stored, s.of, day0, day0.AddDate(0, 0, days))
			checkBarIndicators(t, conn, s.symbol, bars, start, end, "1d", n, 252)
		}
		if bars := series(stored, one(500), day0, day0.AddDate(0, 0, days)); len(bars) != days-6 {
			t.Errorf("GAPPY: %d bars in the reference, want %d (4 missing, 2 without prices)", len(bars), days-6)
		}
	})

	t.Run("roll inside the window", func(t *testing.T) {
		bars := series(stored, esc0, day("2024-03-10"), day("2024-03-21"))
		checkBarIndicators(t, conn, "ES.c.0", bars, "2024-03-10", "2024-03-20", "1d", 4, 252)
		// On the roll day the return is ESM4's own (6015 after 6014), not
		// the jump from ESH4's 5014.
		rows := indicatorRows(t, conn, "Returns", indicatorValues("ES.c.0", "2024-03-15", "2024-03-15", "1d"))
		if len(rows) != 1 {
			t.Fatalf("Returns on the roll day: %d rows, want 1", len(rows))
		}
		check(t, "ES.c.0 return on the roll day", rows[0].vals["simple_return"], exact(big.NewRat(1, 6014)))
		// The first day of a range takes its previous close from before it.
		rows = indicatorRows(t, conn, "Returns", indicatorValues("ES.c.0", "2024-03-12", "2024-03-12", "1d"))
		check(t, "ES.c.0 return on the first day of the range", rows[0].vals["simple_return"], exact(big.NewRat(1, 5011)))
	})

	t.Run("window longer than the data", func(t *testing.T) {
		for _, q := range []string{"RealizedVol", "MovingAverages", "RsiAtr"} {
			rows := indicatorRows(t, conn, q, indicatorValues("RAMP", start, end, "1d", "n", "31"))
			if len(rows) < days-1 {
				t.Fatalf("%s: %d rows, want a row per bar", q, len(rows))
			}
			for _, r := range rows {
				for col, v := range r.vals {
					check(t, q+" "+col+" with n > bars", v, null())
				}
			}
		}
	})

	t.Run("a single bar", func(t *testing.T) {
		for _, q := range []string{"Returns", "RealizedVol", "MovingAverages", "RsiAtr"} {
			v := indicatorValues("RAMP", "2024-02-10", "2024-02-10", "1d", "n", "1")
			if q == "Returns" {
				delete(v, "n")
			}
			rows := indicatorRows(t, conn, q, v)
			if len(rows) != 1 {
				t.Fatalf("%s of one bar: %d rows, want 1", q, len(rows))
			}
			r := rows[0].vals
			switch q {
			case "Returns":
				check(t, "simple_return of one bar (previous close from before the range)", r["simple_return"], exact(big.NewRat(1, 108)))
			case "RealizedVol":
				check(t, "realized_vol of one return (a sample stdev needs two)", r["realized_vol"], null())
			case "MovingAverages":
				check(t, "sma of one bar", r["sma"], exact(big.NewRat(109, 1)))
				check(t, "ema of one bar", r["ema"], exact(big.NewRat(109, 1)))
			case "RsiAtr":
				check(t, "rsi of one bar", r["rsi"], exact(big.NewRat(100, 1)))
			}
		}
	})

	t.Run("a wrong interval", func(t *testing.T) {
		q, err := catalog(t, "").Lookup("Returns", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = query.Run(ctx(t), conn, q, indicatorValues("RAMP", start, end, "2m"), &strings.Builder{}, output.Options{Format: output.CSV})
		if err == nil || !strings.Contains(err.Error(), "interval 2m is none of 1s, 1m, 5m") {
			t.Fatalf("interval 2m: %v, want an error listing the intervals", err)
		}
	})
}

// TestIndicatorsDemo checks every indicator query on the demo data set across
// the ES roll (ESH4 -> ESM4 on 2024-03-15): one-minute bars, the 5-minute
// roll-up, daily bars and VWAP from the trades, the dataset picked from the
// symbols.
func TestIndicatorsDemo(t *testing.T) {
	url, pool := querytest.Datasets(t)
	conn := connect(t, url)
	const esh4, esm4 = 5482, 1002
	esc0 := func(d time.Time) int64 {
		if d.Before(day("2024-03-15")) {
			return esh4
		}
		return esm4
	}
	start, end := day("2024-03-14"), day("2024-03-16")
	minutes := map[int64][]ibar{esh4: storedBars(t, pool, "ohlcv_1m", esh4), esm4: storedBars(t, pool, "ohlcv_1m", esm4)}

	t.Run("1m", func(t *testing.T) {
		bars := series(minutes, esc0, start, end)
		if len(bars) < 2000 {
			t.Fatalf("only %d one-minute bars of ES.c.0 on 2024-03-14..15", len(bars))
		}
		checkBarIndicators(t, conn, "ES.c.0", bars, "2024-03-14", "2024-03-15", "1m", 30, 252*1440)
	})
	t.Run("5m roll-up", func(t *testing.T) {
		fives := map[int64][]ibar{esh4: rollUp(minutes[esh4], 5*time.Minute), esm4: rollUp(minutes[esm4], 5*time.Minute)}
		bars := series(fives, esc0, start, end)
		checkBarIndicators(t, conn, "ES.c.0", bars, "2024-03-14", "2024-03-15", "5m", 12, 252*288)
	})
	t.Run("1d", func(t *testing.T) {
		daily := map[int64][]ibar{esh4: storedBars(t, pool, "ohlcv_1d", esh4), esm4: storedBars(t, pool, "ohlcv_1d", esm4)}
		bars := series(daily, esc0, day("2024-03-11"), day("2024-03-23"))
		checkBarIndicators(t, conn, "ES.c.0", bars, "2024-03-11", "2024-03-22", "1d", 3, 252)
	})
	t.Run("dataset from the symbols", func(t *testing.T) {
		v := indicatorValues("ES.c.0", "2024-03-14", "2024-03-15", "1d")
		delete(v, "dataset")
		if rows := indicatorRows(t, conn, "Returns", v); len(rows) != 2 || rows[1].vals["simple_return"] == nil {
			t.Fatalf("Returns without a dataset: %d rows, want the 2 days of ES.c.0 in GLBX.MDP3", len(rows))
		}
		// A query whose symbols are optional too reads every dataset
		// without one: it is left so.
		cov, err := catalog(t, "").Lookup("CoverageDaily", "")
		if err != nil {
			t.Fatal(err)
		}
		cv := map[string]any{"symbols": "ES.c.0", "start_day": "2024-03-14", "end_day": "2024-03-15"}
		if err := query.FillDataset(ctx(t), conn, cov, cv); err != nil || cv["dataset"] != nil {
			t.Fatalf("CoverageDaily: FillDataset gave dataset %v (%v), want none", cv["dataset"], err)
		}
	})
	t.Run("Vwap", func(t *testing.T) { checkVwap(t, pool, conn, esc0) })
}

// checkVwap compares Vwap on the demo trades with a Go loop: per bar of
// the session (UTC day, and the CME session from 17:00 Chicago), the
// cumulative sum of price * size over the sum of size, restarting when the
// contract changes. The 4h bars of the CME session start at 22:00 UTC and
// so cross UTC midnight: ESM4's bar of 2024-03-14 22:00 holds trades of
// both days, and ES.c.0's is two bars at the same time (ESH4's part, then
// after the roll at midnight ESM4's).
func checkVwap(t *testing.T, pool *pgxpool.Pool, conn *pgx.Conn, of contractOf) {
	type trade struct {
		ts    time.Time
		id    int64
		price int64
		size  int64
	}
	rows, err := pool.Query(context.Background(), `SELECT ts, instrument_id, price, size FROM trades
		WHERE instrument_id IN (5482, 1002) AND ts >= '2024-03-14' AND ts < '2024-03-16' ORDER BY ts`)
	if err != nil {
		t.Fatal(err)
	}
	var all []trade
	for rows.Next() {
		var tr trade
		if err := rows.Scan(&tr.ts, &tr.id, &tr.price, &tr.size); err != nil {
			t.Fatal(err)
		}
		tr.ts = tr.ts.UTC()
		all = append(all, tr)
	}
	if rows.Err() != nil || len(all) < 1000 {
		t.Fatalf("demo trades: %v (%d)", rows.Err(), len(all))
	}
	chicago := mustZone(t, "America/Chicago")
	cme := func(ts time.Time) time.Time {
		l := ts.In(chicago)
		s := time.Date(l.Year(), l.Month(), l.Day(), 17, 0, 0, 0, chicago)
		if l.Before(s) {
			s = s.AddDate(0, 0, -1)
		}
		return s.UTC()
	}
	esm4 := func(time.Time) int64 { return 1002 }
	for _, c := range []struct {
		name    string
		symbol  string
		of      contractOf // the contract the symbol names on a UTC day
		params  []string
		session func(time.Time) time.Time // the session's start
		width   time.Duration
		shared  int    // bar times that two contracts' bars share
		from    string // start_ts (default 2024-03-14)
	}{
		{"UTC day, 1h", "ES.c.0", of, []string{"interval", "1h"}, func(ts time.Time) time.Time { return ts.Truncate(24 * time.Hour) }, time.Hour, 0, ""},
		{"CME session, 30m", "ES.c.0", of, []string{"interval", "30 minutes", "session_tz", "America/Chicago", "session_start", "17:00"}, cme, 30 * time.Minute, 0, ""},
		{"CME session, 4h, ESM4", "ESM4", esm4, []string{"interval", "4h", "session_tz", "America/Chicago", "session_start", "17:00"}, cme, 4 * time.Hour, 0, ""},
		{"CME session, 4h, ES.c.0", "ES.c.0", of, []string{"interval", "4h", "session_tz", "America/Chicago", "session_start", "17:00"}, cme, 4 * time.Hour, 1, ""},
		// From an instant inside a bar: the bar holds the trades from then on.
		{"CME session, 4h, ESM4, from 23:00", "ESM4", esm4, []string{"interval", "4h", "session_tz", "America/Chicago", "session_start", "17:00"}, cme, 4 * time.Hour, 0, "2024-03-14T23:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			type key struct {
				id            int64
				session, tsOf time.Time
			}
			type acc struct{ pv, v *big.Rat }
			bars := map[key]*acc{}
			var keys []key
			from := day("2024-03-14")
			if c.from != "" {
				var err error
				if from, err = time.Parse(time.RFC3339, c.from); err != nil {
					t.Fatal(err)
				}
			}
			midnight := 0
			for _, tr := range all {
				if c.of(tr.ts.Truncate(24*time.Hour)) != tr.id || tr.ts.Before(from) {
					continue
				}
				s := c.session(tr.ts)
				k := key{tr.id, s, s.Add(tr.ts.Sub(s) / c.width * c.width)}
				if bars[k] == nil {
					bars[k] = &acc{new(big.Rat), new(big.Rat)}
					keys = append(keys, k)
				}
				if !k.tsOf.Truncate(24 * time.Hour).Equal(tr.ts.Truncate(24 * time.Hour)) {
					midnight++
				}
				bars[k].pv.Add(bars[k].pv, new(big.Rat).Mul(fx(tr.price), big.NewRat(tr.size, 1)))
				bars[k].v.Add(bars[k].v, big.NewRat(tr.size, 1))
			}
			if c.width == 4*time.Hour && midnight == 0 {
				t.Fatal("no trade after midnight in a bar that began before it: the case tests nothing")
			}
			sort.SliceStable(keys, func(i, j int) bool { return keys[i].tsOf.Before(keys[j].tsOf) })
			cum := map[[2]any]*acc{}
			exp := map[time.Time][][2]*big.Rat{} // vwap, bar_vwap of each bar at a time
			shared := 0
			for _, k := range keys {
				ck := [2]any{k.id, k.session}
				if cum[ck] == nil {
					cum[ck] = &acc{new(big.Rat), new(big.Rat)}
				}
				cum[ck].pv.Add(cum[ck].pv, bars[k].pv)
				cum[ck].v.Add(cum[ck].v, bars[k].v)
				if len(exp[k.tsOf]) == 1 {
					shared++
				}
				exp[k.tsOf] = append(exp[k.tsOf], [2]*big.Rat{new(big.Rat).Quo(cum[ck].pv, cum[ck].v), new(big.Rat).Quo(bars[k].pv, bars[k].v)})
			}
			if shared != c.shared {
				t.Fatalf("the reference has %d bar times shared by two contracts, the case expects %d", shared, c.shared)
			}
			v := map[string]any{"symbols": c.symbol, "start_ts": cmp.Or(c.from, "2024-03-14"), "end_ts": "2024-03-15"}
			for i := 0; i < len(c.params); i += 2 {
				v[c.params[i]] = c.params[i+1]
			}
			got := map[time.Time][]irow{}
			n := 0
			for _, r := range indicatorRows(t, conn, "Vwap", v) {
				got[r.ts] = append(got[r.ts], r)
				n++
			}
			if n != len(keys) {
				t.Fatalf("Vwap: %d rows, want %d", n, len(keys))
			}
			for ts, rs := range got {
				e := exp[ts]
				if len(e) != len(rs) {
					t.Fatalf("Vwap: %d rows at %s, the reference %d bars", len(rs), ts, len(e))
				}
				// Bars that share a time, in the order of their bar_vwap.
				sort.Slice(rs, func(i, j int) bool { return rs[i].vals["bar_vwap"].Cmp(rs[j].vals["bar_vwap"]) < 0 })
				sort.Slice(e, func(i, j int) bool { return e[i][1].Cmp(e[j][1]) < 0 })
				for i, r := range rs {
					check(t, "vwap "+ts.Format(time.RFC3339), r.vals["vwap"], exact(e[i][0]))
					check(t, "bar_vwap "+ts.Format(time.RFC3339), r.vals["bar_vwap"], exact(e[i][1]))
				}
			}
		})
	}
}

// TestIndicatorsTimescale runs the bar indicators on TimescaleDB (the PGlite
// server), where the 5m bars come from the continuous aggregate bars_5m:
// computed at query time before a refresh, materialized after one, the
// same values as the Go loop both times.
func TestIndicatorsTimescale(t *testing.T) {
	url := pgtest.NewTimescaleDB(t) + "&pool_max_conns=1"
	m, err := migrate.Open(ctx(t), url, migrate.Options{NoLock: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx(t)); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	m.Close()
	pool := pgtest.Connect(t, url)
	paths, err := synth.WriteDemo(t.TempDir(), synth.DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if strings.Contains(p, "ohlcv-1m") || strings.Contains(p, "definition") {
			querytest.LoadDBN(t, pool, p)
		}
	}
	if kind := pgtest.Scalar[string](t, pool, `SELECT coalesce((SELECT 'continuous aggregate' FROM timescaledb_information.continuous_aggregates WHERE view_name = 'bars_5m'), 'view')`); kind != "continuous aggregate" {
		t.Fatalf("bars_5m is a %s: want TimescaleDB's continuous aggregate", kind)
	}
	const esh4, esm4 = 5482, 1002
	of := func(d time.Time) int64 {
		if d.Before(day("2024-03-15")) {
			return esh4
		}
		return esm4
	}
	fives := map[int64][]ibar{}
	for _, id := range []int64{esh4, esm4} {
		fives[id] = rollUp(storedBars(t, pool, "ohlcv_1m", id), 5*time.Minute)
	}
	bars := series(fives, of, day("2024-03-14"), day("2024-03-16"))
	conn := connect(t, url)
	checkBarIndicators(t, conn, "ES.c.0", bars, "2024-03-14", "2024-03-15", "5m", 12, 252*288)
	// Materialized, and read from the materialization only.
	for _, sql := range []string{`CALL refresh_continuous_aggregate('bars_5m', NULL, NULL)`,
		`ALTER MATERIALIZED VIEW bars_5m SET (timescaledb.materialized_only = true)`} {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	checkBarIndicators(t, conn, "ES.c.0", bars, "2024-03-14", "2024-03-15", "5m", 12, 252*288)
}
