package query_test

import (
	"database/sql/driver"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/query/querytest"
	"github.com/hdi-dev/hdi/internal/synth"
)

// The analytics tests (sessions.sql and resampled bars) check each query
// against values computed here, by plain loops over the rows the test
// inserted or read back from the market tables, never by the same SQL.

const syn = "SYN.TEST" // the synthetic dataset

// A synthetic continuous symbol XX.c.0 rolls from XXH4 (id 100) to XXM4
// (id 200) on 2024-03-12; both contracts trade through the range.
var (
	synStart = time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)
	synEnd   = time.Date(2024, 3, 17, 0, 0, 0, 0, time.UTC)
	synRoll  = time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)
)

// bar is one stored bar.
type bar struct {
	id                     int64
	ts                     time.Time
	open, high, low, close int64
	volume                 int64
}

// analyticsDB returns a migrated database holding the demo data set
// (GLBX.MDP3, ES and NQ rolling on 2024-03-15) and the synthetic dataset,
// and the synthetic one-minute bars.
func analyticsDB(t *testing.T) (string, *pgxpool.Pool, []bar) {
	t.Helper()
	url := querytest.Empty(t)
	pool := pgtest.Connect(t, url)
	paths, err := synth.WriteDemo(t.TempDir(), synth.DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		querytest.LoadDBN(t, pool, p)
	}
	return url, pool, synthetic(t, pool)
}

// synthetic loads the synthetic dataset and returns its one-minute bars.
func synthetic(t *testing.T, pool *pgxpool.Pool) []bar {
	t.Helper()
	exec(t, pool, `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source) VALUES
		($1, 'continuous', 'XX.c.0', 'instrument_id', '100', '2024-03-01', '2024-03-12', 'test'),
		($1, 'continuous', 'XX.c.0', 'instrument_id', '200', '2024-03-12', '2024-04-01', 'test'),
		($1, 'raw_symbol', 'XXH4', 'instrument_id', '100', '2024-03-01', '2024-04-01', 'test'),
		($1, 'raw_symbol', 'XXM4', 'instrument_id', '200', '2024-03-01', '2024-04-01', 'test'),
		($1, 'raw_symbol', 'ONES', 'instrument_id', '300', '2024-03-01', '2024-04-01', 'test'),
		($1, 'raw_symbol', 'TRDS', 'instrument_id', '400', '2024-03-01', '2024-04-01', 'test')`, syn)
	// One-minute bars of both contracts at random minutes (gaps of 1 to 9
	// minutes), every day of the range, weekends and the DST change of
	// 2024-03-10 included.
	rng := rand.New(rand.NewPCG(1, 2))
	var bars []bar
	for _, id := range []int64{100, 200} {
		px := int64(5000_000000000) + id*1_000000000
		for ts := synStart; ts.Before(synEnd); ts = ts.Add(time.Duration(1+rng.IntN(9)) * time.Minute) {
			o := px + int64(rng.IntN(9)-4)*250000000
			c := px + int64(rng.IntN(9)-4)*250000000
			b := bar{id: id, ts: ts, open: o, close: c, high: max(o, c) + int64(rng.IntN(3))*250000000,
				low: min(o, c) - int64(rng.IntN(3))*250000000, volume: int64(1 + rng.IntN(50))}
			bars = append(bars, b)
			px = c
		}
	}
	copyBars(t, pool, "ohlcv_1m", bars)
	return bars
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
}

func copyBars(t *testing.T, pool *pgxpool.Pool, table string, bars []bar) {
	t.Helper()
	rows := make([][]any, len(bars))
	for i, b := range bars {
		rows[i] = []any{syn, b.ts, b.ts.UnixNano(), int16(33), int32(1), b.id, b.open, b.high, b.low, b.close, b.volume}
	}
	if _, err := pool.CopyFrom(t.Context(), pgx.Identifier{table}, []string{"dataset", "ts", "ts_event", "rtype", "publisher_id",
		"instrument_id", "open", "high", "low", "close", "volume"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
}

// readBars reads a bar table back for the expected values of the demo.
func readBars(t *testing.T, pool *pgxpool.Pool, table, dataset string) []bar {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT instrument_id, ts, open, high, low, close, volume FROM `+table+` WHERE dataset = $1`, dataset)
	if err != nil {
		t.Fatal(err)
	}
	var out []bar
	for rows.Next() {
		var b bar
		if err := rows.Scan(&b.id, &b.ts, &b.open, &b.high, &b.low, &b.close, &b.volume); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return out
}

// queryRows runs q and returns each row's
// values as text keyed by column name.
func queryRows(t *testing.T, conn *pgx.Conn, q *query.Query, values map[string]any) []map[string]string {
	t.Helper()
	p, err := query.Prepare(ctx(t), conn, q)
	if err != nil {
		t.Fatal(err)
	}
	args, err := p.Bind(values)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx(t), p.SQL, args...)
	if err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, fd := range rows.FieldDescriptions() {
			m[fd.Name] = text(vals[i])
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q.Name, err)
	}
	return out
}

// text writes a value as the tests compare it: times in UTC RFC 3339,
// dates as YYYY-MM-DD, numerics as exact decimals without trailing zeros.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case driver.Valuer: // numeric, time of day
		d, _ := x.Value()
		if s, ok := d.(string); ok {
			return ratText(s)
		}
		return fmt.Sprint(d)
	}
	return fmt.Sprint(v)
}

// ratText normalizes a decimal's text (5.2500 -> 21/4), so decimals
// compare by value.
func ratText(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	return r.RatString()
}

func lookup(t *testing.T, name string) *query.Query {
	t.Helper()
	q, err := catalog(t, "").Lookup(name, "")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// agg is an OHLCV aggregate of bars in time order.
type agg struct {
	open, high, low, close, volume, count int64
}

func (a *agg) add(b bar) {
	if a.count == 0 {
		a.open, a.high, a.low = b.open, b.high, b.low
	}
	a.high, a.low = max(a.high, b.high), min(a.low, b.low)
	a.close = b.close
	a.volume += b.volume
	a.count++
}

func (a agg) String() string {
	return fmt.Sprintf("%d %d %d %d %d %d", a.open, a.high, a.low, a.close, a.volume, a.count)
}

func sortBars(bars []bar) {
	sort.SliceStable(bars, func(i, j int) bool { return bars[i].ts.Before(bars[j].ts) })
}

// contractOf is what a continuous symbol names on a UTC day.
type contractOf func(day time.Time) int64

func synContract(day time.Time) int64 {
	if day.Before(synRoll) {
		return 100
	}
	return 200
}

// expectSessions computes SessionBars in Go: for each trading date in
// [from, to), the ETH and RTH windows on the local clock of loc, each over
// the bars of the contract named on that date.
func expectSessions(bars []bar, symbol string, contract contractOf, from, to time.Time, loc *time.Location,
	rthStart, rthEnd, ethStart [2]int) []string {
	sortBars(bars)
	var out []string
	ethBefore := ethStart[0]*60+ethStart[1] > rthStart[0]*60+rthStart[1]
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		id := contract(d)
		at := func(day time.Time, hm [2]int) time.Time {
			return time.Date(day.Year(), day.Month(), day.Day(), hm[0], hm[1], 0, 0, loc)
		}
		ethDay := d
		if ethBefore {
			ethDay = d.AddDate(0, 0, -1)
		}
		for _, s := range []struct {
			name     string
			from, to time.Time
		}{
			{"ETH", at(ethDay, ethStart), at(ethDay.AddDate(0, 0, 1), ethStart)},
			{"RTH", at(d, rthStart), at(d, rthEnd)},
		} {
			var a agg
			for _, b := range bars {
				if b.id == id && !b.ts.Before(s.from) && b.ts.Before(s.to) {
					a.add(b)
				}
			}
			if a.count > 0 {
				out = append(out, fmt.Sprintf("%s %s %s %s %s %d %s", s.from.UTC().Format(time.RFC3339), symbol, s.name,
					d.Format(time.DateOnly), s.to.UTC().Format(time.RFC3339), id, a))
			}
		}
	}
	return out
}

func sessionRows(rows []map[string]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s %s %s %s %s %s %s %s %s %s %s %s", r["ts"], r["symbol"], r["session"], r["trading_date"][:10],
			r["session_end"], r["instrument_id"], r["open"], r["high"], r["low"], r["close"], r["volume"], r["bar_count"])
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the test expects no rows: it checks nothing", what)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
		for i := 0; i < max(len(got), len(want)); i++ {
			g, w := "-", "-"
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("row %d:\n got %s\nwant %s", i, g, w)
			}
		}
	}
}

func TestSessionBars(t *testing.T) {
	url, pool, bars := analyticsDB(t)
	conn := connect(t, url)
	chicago := mustZone(t, "America/Chicago")
	q := lookup(t, "SessionBars")

	// Defaults (CME, America/Chicago) on the synthetic roll: the range
	// crosses the DST change of 2024-03-10 and the roll of 2024-03-12.
	from, to := time.Date(2024, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	got := sessionRows(queryRows(t, conn, q, map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-07", "end_ts": "2024-03-14"}))
	want := expectSessions(bars, "XX.c.0", synContract, from, to, chicago, [2]int{8, 30}, [2]int{15, 15}, [2]int{17, 0})
	sameLines(t, "SessionBars XX.c.0", got, want)
	// The edges as the docs state them: RTH 14:30Z in CST, 13:30Z in CDT;
	// the ETH of Sunday 2024-03-10 is 23 hours (it spans the change); the
	// session of the roll date takes the new contract from the evening before.
	for _, w := range []string{
		"2024-03-08T14:30:00Z XX.c.0 RTH 2024-03-08 2024-03-08T21:15:00Z 100 ",
		"2024-03-11T13:30:00Z XX.c.0 RTH 2024-03-11 2024-03-11T20:15:00Z 100 ",
		"2024-03-09T23:00:00Z XX.c.0 ETH 2024-03-10 2024-03-10T22:00:00Z 100 ",
		"2024-03-11T22:00:00Z XX.c.0 ETH 2024-03-12 2024-03-12T22:00:00Z 200 ",
	} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("no session %q in\n%s", w, strings.Join(got, "\n"))
		}
	}

	// Other parameters: a European exchange whose trading day starts the
	// same morning (eth_start before rth_start).
	got = sessionRows(queryRows(t, conn, q, map[string]any{"dataset": syn, "symbols": "XXM4", "start_ts": "2024-03-07", "end_ts": "2024-03-14",
		"time_zone": "Europe/Berlin", "rth_start": "09:00", "rth_end": "17:30", "eth_start": "08:00"}))
	want = expectSessions(bars, "XXM4", func(time.Time) int64 { return 200 }, from, to, mustZone(t, "Europe/Berlin"), [2]int{9, 0}, [2]int{17, 30}, [2]int{8, 0})
	sameLines(t, "SessionBars XXM4 Berlin", got, want)

	// A session of one bar: the only bar of 2024-03-20 (a day without others).
	exec(t, pool, `INSERT INTO ohlcv_1m (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
		VALUES ($1, '2024-03-20 15:00:00+00', 1710946800000000000, 33, 1, 200, 7, 9, 5, 8, 3)`, syn)
	got = sessionRows(queryRows(t, conn, q, map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-20", "end_ts": "2024-03-20"}))
	sameLines(t, "one bar", got, []string{
		"2024-03-19T22:00:00Z XX.c.0 ETH 2024-03-20 2024-03-20T22:00:00Z 200 7 9 5 8 3 1",
		"2024-03-20T13:30:00Z XX.c.0 RTH 2024-03-20 2024-03-20T20:15:00Z 200 7 9 5 8 3 1",
	})

	// The demo's ES.c.0 across its roll (2024-03-15), against its own bars.
	demo := readBars(t, pool, "ohlcv_1m", "GLBX.MDP3")
	esContract := func(d time.Time) int64 {
		if d.Before(time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)) {
			return 5482
		}
		return demoID(t, pool, "ESM4")
	}
	got = sessionRows(queryRows(t, conn, q, map[string]any{"dataset": "GLBX.MDP3", "symbols": "ES.c.0", "start_ts": "2024-03-11", "end_ts": "2024-03-19"}))
	want = expectSessions(demo, "ES.c.0", esContract, time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC),
		chicago, [2]int{8, 30}, [2]int{15, 15}, [2]int{17, 0})
	sameLines(t, "SessionBars ES.c.0 (demo)", got, want)
}

func demoID(t *testing.T, pool *pgxpool.Pool, raw string) int64 {
	t.Helper()
	return pgtest.Scalar[int64](t, pool, `SELECT instrument_id FROM definition WHERE dataset = 'GLBX.MDP3' AND raw_symbol = $1 LIMIT 1`, raw)
}

func TestRollCalendar(t *testing.T) {
	url, pool, _ := analyticsDB(t)
	conn := connect(t, url)
	q := lookup(t, "RollCalendar")

	// Daily bars: XXH4 closes at 5000+day, XXM4 at 6000+day+0.25, except
	// that XXH4 has no bar on 2024-03-11 (its last close before the roll is
	// 2024-03-08's) and XXM4 none before 2024-03-08.
	type daily struct {
		id    int64
		day   time.Time
		close int64
	}
	var dailies []daily
	for d := synStart; d.Before(synEnd); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		if !d.Equal(time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC)) {
			dailies = append(dailies, daily{100, d, (5000 + int64(d.Day())) * 1_000000000})
		}
		if !d.Before(time.Date(2024, 3, 8, 0, 0, 0, 0, time.UTC)) {
			dailies = append(dailies, daily{200, d, (6000+int64(d.Day()))*1_000000000 + 250000000})
		}
	}
	var bars []bar
	for _, d := range dailies {
		bars = append(bars, bar{id: d.id, ts: d.day, open: d.close, high: d.close, low: d.close, close: d.close, volume: 1})
	}
	copyBars(t, pool, "ohlcv_1d", bars)
	// Statistics: volume (6) and open interest (9) records. A later record
	// of the same day wins; a delete (update_action 2) and other stat types
	// count for nothing; on the roll day only XXM4's open interest exists.
	type stat struct {
		id       int64
		recv     time.Time
		typ      int
		qty      int64
		action   int
		sequence int64
	}
	at := func(day, hour int) time.Time { return time.Date(2024, 3, day, hour, 0, 0, 0, time.UTC) }
	stats := []stat{
		{100, at(8, 20), 6, 900, 1, 1}, {100, at(8, 22), 6, 1000, 1, 2}, {100, at(8, 23), 6, 5, 2, 3},
		{100, at(8, 21), 9, 40000, 1, 4}, {200, at(8, 21), 9, 30000, 1, 5}, {200, at(8, 21), 6, 700, 1, 6},
		{200, at(8, 21), 3, 123, 1, 7}, {200, at(12, 21), 9, 52000, 1, 8}, {100, at(11, 21), 9, 1, 1, 9},
	}
	rows := make([][]any, len(stats))
	for i, s := range stats {
		rows[i] = []any{syn, s.recv, s.recv.UnixNano(), s.recv.UnixNano(), int16(24), int32(1), s.id, nil, s.qty, s.sequence, int32(0), int32(s.typ), int16(s.action), int16(0)}
	}
	if _, err := pool.CopyFrom(t.Context(), pgx.Identifier{"statistics"}, []string{"dataset", "ts", "ts_recv", "ts_event", "rtype", "publisher_id",
		"instrument_id", "price", "quantity", "sequence", "ts_in_delta", "stat_type", "update_action", "stat_flags"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}

	// Expected, by loops over the rows above.
	lastClose := func(id int64, before time.Time) (time.Time, int64, bool) {
		var day time.Time
		var c int64
		ok := false
		for _, d := range dailies {
			if d.id == id && d.day.Before(before) && (!ok || d.day.After(day)) {
				day, c, ok = d.day, d.close, true
			}
		}
		return day, c, ok
	}
	closeOn := func(id int64, day time.Time) (int64, bool) {
		for _, d := range dailies {
			if d.id == id && d.day.Equal(day) {
				return d.close, true
			}
		}
		return 0, false
	}
	statOf := func(id int64, day time.Time, typ int) string {
		var best *stat
		for i, s := range stats {
			if s.id != id || s.typ != typ || s.action != 1 || s.recv.Before(day) || !s.recv.Before(day.AddDate(0, 0, 1)) {
				continue
			}
			if best == nil || s.recv.After(best.recv) || (s.recv.Equal(best.recv) && s.sequence > best.sequence) {
				best = &stats[i]
			}
		}
		if best == nil {
			return "NULL"
		}
		return fmt.Sprint(best.qty)
	}
	closeDay, fromClose, _ := lastClose(100, synRoll)
	toClose, _ := closeOn(200, closeDay)
	want := fmt.Sprintf("%s XX.c.0 %s XXH4 XXM4 100 200 %s %d %s %d %d %s %s %s %s %s %s %s %s",
		synRoll.Format(time.RFC3339), synRoll.Format(time.RFC3339), closeDay.Format(time.RFC3339), fromClose,
		closeDay.Format(time.RFC3339), toClose, toClose-fromClose,
		statOf(100, closeDay, 6), statOf(200, closeDay, 6), statOf(100, closeDay, 9), statOf(200, closeDay, 9),
		statOf(100, synRoll, 6), statOf(200, synRoll, 6), statOf(100, synRoll, 9), statOf(200, synRoll, 9))
	line := func(r map[string]string) string {
		return strings.Join([]string{r["ts"], r["symbol"], r["roll_date"], r["from_contract"], r["to_contract"], r["from_instrument_id"],
			r["to_instrument_id"], r["close_date"], r["from_close"], r["to_close_date"], r["to_close"], r["price_gap"],
			r["from_volume"], r["to_volume"], r["from_open_interest"], r["to_open_interest"],
			r["roll_from_volume"], r["roll_to_volume"], r["roll_from_open_interest"], r["roll_to_open_interest"]}, " ")
	}
	lines := func(values map[string]any) []string {
		var out []string
		for _, r := range queryRows(t, conn, q, values) {
			out = append(out, line(r))
		}
		return out
	}
	// The range holds the roll; a range starting on the roll day finds it
	// too (the day before is looked at); a range after it has none.
	sameLines(t, "RollCalendar", lines(map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-06", "end_ts": "2024-03-16"}), []string{want})
	sameLines(t, "RollCalendar from the roll day", lines(map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-12", "end_ts": "2024-03-12"}), []string{want})
	if got := lines(map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-13", "end_ts": "2024-03-16"}); len(got) != 0 {
		t.Errorf("no roll in 2024-03-13..16, got %v", got)
	}
	// The values the loops found are the ones meant (a guard on the test):
	// XXH4's last close is 2024-03-08's, and the stats are the later ones.
	if !strings.Contains(want, " 2024-03-08T00:00:00Z 5008000000000 ") || !strings.Contains(want, " 1000 700 40000 30000 NULL NULL NULL 52000") {
		t.Errorf("the test's own expectation is off: %s", want)
	}

	// The demo's ES roll: no statistics loaded, so those are NULL; the gap
	// is ESM4's 5157.25 close minus ESH4's 5130.00 on 2024-03-14.
	demo := queryRows(t, conn, q, map[string]any{"dataset": "GLBX.MDP3", "symbols": "ES.c.0", "start_ts": "2024-03-11", "end_ts": "2024-03-22"})
	if len(demo) != 1 {
		t.Fatalf("demo: %d rolls, want 1: %v", len(demo), demo)
	}
	d := demo[0]
	if d["roll_date"] != "2024-03-15T00:00:00Z" || d["from_contract"] != "ESH4" || d["to_contract"] != "ESM4" ||
		d["from_close"] != "5130000000000" || d["to_close"] != "5157250000000" || d["price_gap"] != "27250000000" ||
		d["from_open_interest"] != "NULL" || d["roll_to_volume"] != "NULL" {
		t.Errorf("demo roll: %v", d)
	}
}

// quote is one tbbo or mbp-1 record.
type quote struct {
	table    string
	id       int64
	ts       time.Time
	action   string
	size     int64
	bid, ask *int64
}

func TestLiquidity(t *testing.T) {
	url, pool, _ := analyticsDB(t)
	conn := connect(t, url)
	q := lookup(t, "Liquidity")

	// XXM4: tbbo on 2024-03-07 (and mbp-1 the same day, which tbbo
	// replaces), mbp-1 alone on 2024-03-08 (trades are action T there), a
	// record without an ask; times across the day in Chicago.
	rng := rand.New(rand.NewPCG(3, 4))
	px := func(v int64) *int64 { return &v }
	var quotes []quote
	for _, day := range []int{7, 8} {
		for ts := time.Date(2024, 3, day, 0, 0, 0, 0, time.UTC); ts.Day() == day; ts = ts.Add(time.Duration(1+rng.IntN(40)) * time.Minute) {
			bid := int64(6000_000000000 + rng.IntN(20)*250000000)
			ask := bid + int64(1+rng.IntN(4))*250000000
			size := int64(1 + rng.IntN(20))
			if day == 7 {
				quotes = append(quotes, quote{"tbbo", 200, ts, "T", size, px(bid), px(ask)})
			}
			action := "A"
			if rng.IntN(3) == 0 {
				action = "T"
			}
			quotes = append(quotes, quote{"mbp_1", 200, ts.Add(time.Second), action, size, px(bid), px(ask)})
		}
	}
	quotes = append(quotes, quote{"mbp_1", 200, time.Date(2024, 3, 8, 15, 1, 0, 0, time.UTC), "T", 4, px(6000_000000000), nil})
	for i, qt := range quotes {
		exec(t, pool, `INSERT INTO `+qt.table+` (dataset, ts, ts_recv, ts_event, rtype, publisher_id, instrument_id, action, side, depth, price, size,
			flags, ts_in_delta, sequence, bid_px_00, ask_px_00, bid_sz_00, ask_sz_00, bid_ct_00, ask_ct_00)
			VALUES ($1, $2, $3, $3, 1, 1, 200, $4, 'N', 0, NULL, $5, 0, 0, $6, $7, $8, 1, 1, 1, 1)`,
			syn, qt.ts, qt.ts.UnixNano(), qt.action, qt.size, int64(i), qt.bid, qt.ask)
	}

	expect := func(loc *time.Location, width int) []string {
		type acc struct {
			days           map[string]bool
			spreads        []int64
			trades, volume int64
		}
		by := map[int]*acc{}
		tbboDays := map[string]bool{}
		for _, qt := range quotes {
			if qt.table == "tbbo" {
				tbboDays[qt.ts.UTC().Format(time.DateOnly)] = true
			}
		}
		for _, qt := range quotes {
			if qt.table == "mbp_1" && tbboDays[qt.ts.UTC().Format(time.DateOnly)] {
				continue
			}
			l := qt.ts.In(loc)
			k := (l.Hour()*60 + l.Minute()) / width
			a := by[k]
			if a == nil {
				a = &acc{days: map[string]bool{}}
				by[k] = a
			}
			a.days[l.Format(time.DateOnly)] = true
			if qt.bid != nil && qt.ask != nil {
				a.spreads = append(a.spreads, *qt.ask-*qt.bid)
			}
			if qt.action == "T" {
				a.trades++
				a.volume += qt.size
			}
		}
		var keys []int
		for k := range by {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		var out []string
		hm := func(m int) string { return fmt.Sprintf("%02d:%02d:00.000000", m/60, m%60) }
		for _, k := range keys {
			a := by[k]
			avg, med := "NULL", "NULL"
			if n := len(a.spreads); n > 0 {
				var sum int64
				for _, s := range a.spreads {
					sum += s
				}
				r := new(big.Rat).SetFrac64(sum, int64(n)*1_000000000)
				avg = ratText(r.FloatString(12))
				s := slices.Clone(a.spreads)
				slices.Sort(s)
				med = new(big.Rat).SetFrac64(s[(n-1)/2]+s[n/2], 2_000000000).RatString()
			}
			out = append(out, fmt.Sprintf("XXM4 %s %s %d %d %s %s %d %d", hm(k*width), hm(min((k+1)*width, 1440)), len(a.days), len(a.spreads), avg, med, a.trades, a.volume))
		}
		return out
	}
	got := func(values map[string]any) []string {
		var out []string
		for _, r := range queryRows(t, conn, q, values) {
			out = append(out, strings.Join([]string{r["symbol"], r["bucket_start"], r["bucket_end"], r["days"], r["quotes"], r["avg_spread"],
				r["median_spread"], r["trades"], r["volume"]}, " "))
		}
		return out
	}
	base := map[string]any{"dataset": syn, "symbols": "XXM4", "start_ts": "2024-03-07", "end_ts": "2024-03-08"}
	sameLines(t, "Liquidity (30 minutes, Chicago)", got(base), expect(mustZone(t, "America/Chicago"), 30))
	base["bucket_minutes"], base["time_zone"] = "50", "UTC"
	sameLines(t, "Liquidity (50 minutes, UTC: the last bucket is 23:20-24:00)", got(base), expect(time.UTC, 50))
}

// resample computes resampled bars in Go: buckets of width from Monday
// 1970-01-05 00:00 UTC, per symbol and the contract of each bar's UTC day.
func resample(bars []bar, symbol string, contract contractOf, from, to time.Time, width time.Duration) []string {
	sortBars(bars)
	origin := time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)
	type key struct {
		start time.Time
		id    int64
	}
	by := map[key]*agg{}
	var keys []key
	for _, b := range bars {
		if b.ts.Before(from) || !b.ts.Before(to) {
			continue
		}
		day := b.ts.UTC().Truncate(24 * time.Hour)
		if contract(day) != b.id {
			continue
		}
		k := key{origin.Add(b.ts.Sub(origin) / width * width), b.id}
		if by[k] == nil {
			by[k] = &agg{}
			keys = append(keys, k)
		}
		by[k].add(b)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].start.Equal(keys[j].start) {
			return keys[i].start.Before(keys[j].start)
		}
		return keys[i].id < keys[j].id
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s %d %s %s", symbol, k.id, k.start.UTC().Format(time.RFC3339), by[k])
	}
	return out
}

// resampled asks for bars as hdi query bars does and returns the name of
// the query that served them and the rows as the resample loop writes them.
func resampled(t *testing.T, conn *pgx.Conn, cat *query.Catalog, symbols, start, end, interval string) (string, []string) {
	t.Helper()
	return resampledAdjusted(t, conn, cat, symbols, start, end, interval, "")
}

// resampledAdjusted is resampled with --adjust.
func resampledAdjusted(t *testing.T, conn *pgx.Conn, cat *query.Catalog, symbols, start, end, interval, adjust string) (string, []string) {
	t.Helper()
	sq, err := query.SymbolRequest{Kind: "bars", Symbols: strings.Split(symbols, ","), Start: start, End: end, Interval: interval, Adjust: adjust}.Plan(cat)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sq.Resolved(ctx(t), conn)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range queryRows(t, conn, q, sq.Values) {
		n := r["bar_count"]
		if n == "" {
			n = r["trade_count"]
		}
		var ns int64
		if _, err := fmt.Sscan(r["ts_event"], &ns); err != nil {
			t.Fatal(err)
		}
		ts := time.Unix(0, ns).UTC()
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s %s %s %s", r["symbol"], r["instrument_id"], ts.Format(time.RFC3339),
			r["open"], r["high"], r["low"], r["close"], r["volume"], n))
	}
	return q.Name, out
}

func TestResampledBars(t *testing.T) {
	url, pool, bars := analyticsDB(t)
	conn := connect(t, url)
	cat := catalog(t, "")
	// ONES (300) has one-second bars only; TRDS (400) trades only.
	var ones []bar
	for i := range 500 {
		ts := time.Date(2024, 3, 7, 23, 59, 0, 0, time.UTC).Add(time.Duration(i*7) * time.Second)
		ones = append(ones, bar{id: 300, ts: ts, open: int64(i), high: int64(i + 5), low: int64(i - 5), close: int64(i + 1), volume: int64(i%7 + 1)})
	}
	copyBars(t, pool, "ohlcv_1s", ones)
	var trades []bar
	for i := range 300 {
		ts := time.Date(2024, 3, 8, 13, 0, 0, 0, time.UTC).Add(time.Duration(i*13) * time.Second)
		p := int64(1000 + (i*37)%101)
		trades = append(trades, bar{id: 400, ts: ts, open: p, high: p, low: p, close: p, volume: int64(i%5 + 1)})
		exec(t, pool, `INSERT INTO trades (dataset, ts, ts_recv, ts_event, rtype, publisher_id, instrument_id, action, side, depth, price, size, flags, ts_in_delta, sequence)
			VALUES ($1, $2, $3, $3, 0, 1, 400, 'T', 'B', 0, $4, $5, 0, 0, $6)`, syn, ts, ts.UnixNano(), p, int64(i%5+1), int64(i))
	}

	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		interval string
		width    time.Duration
	}{
		{"3m", 3 * time.Minute}, {"30m", 30 * time.Minute}, {"4H", 4 * time.Hour}, {"7h", 7 * time.Hour},
		{"2d", 48 * time.Hour}, {"3d", 72 * time.Hour}, {"1w", 7 * 24 * time.Hour},
	} {
		// The range holds the roll (2024-03-12) and the DST change (UTC buckets ignore it).
		name, got := resampled(t, conn, cat, "XX.c.0", "2024-03-06", "2024-03-16", tc.interval)
		if name != "SymbolBarsFrom1m" {
			t.Errorf("%s: resampled by %s, want SymbolBarsFrom1m (the finest bars that divide it)", tc.interval, name)
		}
		sameLines(t, "XX.c.0 "+tc.interval, got, resample(bars, "XX.c.0", synContract, day(6), day(17), tc.width))
	}
	// Weeks start on Monday: 2024-03-11 is one.
	if _, got := resampled(t, conn, cat, "XX.c.0", "2024-03-06", "2024-03-16", "1w"); len(got) != 3 || !strings.Contains(got[1], " 2024-03-11T00:00:00Z ") {
		t.Errorf("1w buckets: %v", got)
	}
	// One-second bars where only those exist; trades where no bars exist.
	name, got := resampled(t, conn, cat, "ONES", "2024-03-07", "2024-03-08", "15s")
	if name != "SymbolBarsFrom1s" {
		t.Errorf("ONES 15s from %s", name)
	}
	sameLines(t, "ONES 15s", got, resample(ones, "ONES", func(time.Time) int64 { return 300 }, day(7), day(9), 15*time.Second))
	name, got = resampled(t, conn, cat, "TRDS", "2024-03-08", "2024-03-08", "2m")
	if name != "SymbolTradeBarsFrom" {
		t.Errorf("TRDS 2m from %s", name)
	}
	sameLines(t, "TRDS 2m", got, resample(trades, "TRDS", func(time.Time) int64 { return 400 }, day(8), day(9), 2*time.Minute))
	// A single bar.
	name, got = resampled(t, conn, cat, "ONES", "2024-03-07T23:59:00Z", "2024-03-07T23:59:01Z", "4m")
	if name != "SymbolBarsFrom1s" || len(got) != 1 || !strings.HasSuffix(got[0], " 0 5 -5 1 1 1") {
		t.Errorf("ONES's first bar in 4m, from %s: %v", name, got)
	}

	// The demo: ES.c.0 in 4-hour bars across its roll, from its one-minute bars.
	demo := readBars(t, pool, "ohlcv_1m", "GLBX.MDP3")
	esm4 := demoID(t, pool, "ESM4")
	es := func(d time.Time) int64 {
		if d.Before(day(15)) {
			return 5482
		}
		return esm4
	}
	name, got = resampled(t, conn, cat, "ES.c.0", "2024-03-13", "2024-03-18", "4h")
	if name != "SymbolBarsFrom1m" {
		t.Errorf("ES.c.0 4h from %s", name)
	}
	sameLines(t, "ES.c.0 4h (demo)", got, resample(demo, "ES.c.0", es, day(13), day(19), 4*time.Hour))
	// Back-adjusted weeks: the week of the roll has an ESH4 row, moved by
	// the gap (5157.25 - 5130.00), and an ESM4 row, as stored.
	var adjusted []bar
	for _, b := range demo {
		if b.id == 5482 {
			const gap = 27_250000000
			b.open, b.high, b.low, b.close = b.open+gap, b.high+gap, b.low+gap, b.close+gap
		}
		adjusted = append(adjusted, b)
	}
	_, got = resampledAdjusted(t, conn, cat, "ES.c.0", "2024-03-04", "2024-03-22", "1w", query.AdjustDifference)
	sameLines(t, "ES.c.0 1w adjusted (demo)", got, resample(adjusted, "ES.c.0", es, day(4), day(23), 7*24*time.Hour))
	if len(got) != 3 || !strings.Contains(got[0], fmt.Sprintf(" %d 2024-03-11T", esm4)) || !strings.Contains(got[1], " 5482 2024-03-11T") {
		t.Errorf("1w across the roll: want an ESH4 and an ESM4 row in the week of 2024-03-11: %v", got)
	}

	// Every existing interval keeps its query.
	for interval, want := range query.BarIntervals {
		sq, err := query.SymbolRequest{Kind: "bars", Symbols: []string{"ES.c.0"}, Start: "2024-03-13", End: "2024-03-14", Interval: interval}.Plan(cat)
		if err != nil || sq.Query.Name != want || sq.Values["bucket_seconds"] != nil {
			t.Errorf("--interval %s: %v, %v", interval, sq, err)
		}
	}
	// Bad intervals: one line naming the parameter.
	for _, bad := range []string{"0m", "2x", "m", "-1h", "1.5h", "1mo", "1 h"} {
		_, err := query.SymbolRequest{Kind: "bars", Symbols: []string{"ES.c.0"}, Start: "2024-03-13", End: "2024-03-14", Interval: bad}.Plan(cat)
		paramError(t, err, "interval", false, fmt.Sprintf("unknown interval %q (want 1s, 1m, 5m, 15m, 1h, 1d, eod, 1h-rollup, trades-1m, or any whole number of s, m, h, d, w: 3m, 30m, 4h, 2d, 1w)", bad))
	}
}

// TestAnalyticsOnTimescale runs the session, roll and resampling queries on
// TimescaleDB (hypertables, PGlite) against the same loops.
func TestAnalyticsOnTimescale(t *testing.T) {
	url := pgtest.NewTimescaleDB(t) + "&pool_max_conns=1"
	pgtest.Migrate(t, url)
	pool := pgtest.Connect(t, url)
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'ohlcv_1m'`); n != 1 {
		t.Fatalf("ohlcv_1m is not a hypertable (%d)", n)
	}
	bars := synthetic(t, pool)
	conn := connect(t, url)
	from, to := time.Date(2024, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	got := sessionRows(queryRows(t, conn, lookup(t, "SessionBars"), map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-07", "end_ts": "2024-03-14"}))
	sameLines(t, "SessionBars", got, expectSessions(bars, "XX.c.0", synContract, from, to, mustZone(t, "America/Chicago"), [2]int{8, 30}, [2]int{15, 15}, [2]int{17, 0}))

	_, lines := resampled(t, conn, catalog(t, ""), "XX.c.0", "2024-03-06", "2024-03-16", "4h")
	sameLines(t, "4h bars", lines, resample(bars, "XX.c.0", synContract, synStart, synEnd, 4*time.Hour))

	// No daily bars here: the roll is listed, unpriced.
	rolls := queryRows(t, conn, lookup(t, "RollCalendar"), map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-06", "end_ts": "2024-03-16"})
	if len(rolls) != 1 || rolls[0]["roll_date"] != "2024-03-12T00:00:00Z" || rolls[0]["price_gap"] != "NULL" || rolls[0]["from_volume"] != "NULL" {
		t.Errorf("rolls: %v", rolls)
	}
	if rows := queryRows(t, conn, lookup(t, "Liquidity"), map[string]any{"dataset": syn, "symbols": "XX.c.0", "start_ts": "2024-03-06", "end_ts": "2024-03-16"}); len(rows) != 0 {
		t.Errorf("liquidity without quotes: %v", rows)
	}
}
