package migrations_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

// The migrations go up, all the way down and up again, on both backends.
func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		url := b.newDB(t)
		m := openMigrator(t, url)
		defer m.Close()
		for round := range 2 {
			if _, err := m.Up(ctx); err != nil {
				t.Fatalf("round %d: up: %v", round, err)
			}
			cur, latest, err := m.Versions(ctx)
			if err != nil || cur != latest || latest < 5 {
				t.Fatalf("round %d: versions %d/%d, %v", round, cur, latest, err)
			}
			if _, err := m.DownTo(ctx, 0); err != nil {
				t.Fatalf("round %d: down to 0: %v", round, err)
			}
			cur, _, err = m.Versions(ctx)
			if err != nil || cur != 0 {
				t.Fatalf("round %d: after down: version %d, %v", round, cur, err)
			}
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("final up: %v", err)
		}
		// Down and up again: the TimescaleDB migration is redoable.
		if _, err := m.Redo(ctx); err != nil {
			t.Fatalf("redo: %v", err)
		}
		db := pgtest.Connect(t, url)
		// What is left after a full down is only goose's version table.
		if _, err := m.DownTo(ctx, 0); err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		left := pgtest.Scalar[[]string](t, db, `
			SELECT coalesce(array_agg(relname::text ORDER BY relname), '{}') FROM pg_class
			WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'm', 'p')
			  AND relname <> 'hdi_schema_migrations'`)
		if len(left) > 0 {
			t.Errorf("relations left after down to 0: %v", left)
		}
		funcs := pgtest.Scalar[int](t, db, `SELECT count(*)::int FROM pg_proc p
			WHERE p.pronamespace = 'public'::regnamespace
			  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`)
		if funcs > 0 {
			t.Errorf("%d functions left after down to 0", funcs)
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up after down: %v", err)
		}
	})
}

// Every field of every DBN v3 record is a column of its table, under
// Databento's name, with the type of the documented mapping, nullable
// exactly where Databento has an undefined sentinel (and NOT NULL for plain
// numbers, flags and the index timestamp), plus dataset and ts.
func TestSchemaCoversDBN(t *testing.T) {
	t.Parallel()
	db := migrated(t, backends[0])
	wantType := map[dbn.WireType]string{
		dbn.WireU8: "smallint", dbn.WireI8: "smallint", dbn.WireI16: "smallint",
		dbn.WireU16: "integer", dbn.WireI32: "integer",
		dbn.WireU32: "bigint", dbn.WireU64: "bigint", dbn.WireI64: "bigint",
		dbn.WireChar: "text", dbn.WireCString: "text",
	}
	for schemaName, table := range marketTables {
		t.Run(table, func(t *testing.T) {
			s, err := dbn.ParseSchema(schemaName)
			if err != nil {
				t.Fatal(err)
			}
			rt := s.RecordType()
			index := "ts_recv"
			if rt.Field("ts_recv") == nil {
				index = "ts_event"
			}
			cols := map[string]column{}
			for _, c := range columns(t, db, table) {
				cols[c.name] = c
			}
			if c := cols["dataset"]; c.typ != "text" || c.nullable {
				t.Errorf("dataset: %+v, want text NOT NULL", c)
			}
			if c := cols["ts"]; c.typ != "timestamp with time zone" || c.nullable {
				t.Errorf("ts: %+v, want timestamptz NOT NULL", c)
			}
			for _, f := range rt.Fields {
				c, ok := cols[f.Name]
				if !ok {
					t.Errorf("field %s has no column", f.Name)
					continue
				}
				delete(cols, f.Name)
				if c.typ != wantType[f.Wire] {
					t.Errorf("%s: type %s, want %s (%s)", f.Name, c.typ, wantType[f.Wire], f.Wire)
				}
				switch {
				case f.Name == index:
					if c.nullable {
						t.Errorf("%s: the index timestamp must be NOT NULL", f.Name)
					}
				case f.HasUndef:
					if !c.nullable {
						t.Errorf("%s: has an undefined sentinel, so must be nullable", f.Name)
					}
				case f.Kind == dbn.KindInt || f.Kind == dbn.KindFlags:
					if c.nullable {
						t.Errorf("%s: no sentinel, so must be NOT NULL", f.Name)
					}
				}
			}
			delete(cols, "dataset")
			delete(cols, "ts")
			// ts_out is the optional DBN record suffix: nullable bigint.
			if c, ok := cols["ts_out"]; !ok || c.typ != "bigint" || !c.nullable {
				t.Errorf("ts_out: %+v, want a nullable bigint", c)
			}
			delete(cols, "ts_out")
			for name := range cols {
				t.Errorf("column %s is not a DBN field", name)
			}
			// The key leads with instrument and time (the query index) and
			// ends with dataset (no text comparison on every descent).
			def := pgtest.Scalar[string](t, db, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
				WHERE conrelid = $1::regclass AND conname = $1 || '_key'`, table)
			if !strings.HasPrefix(def, "UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ") || !strings.HasSuffix(def, ", dataset)") {
				t.Errorf("key %s", def)
			}
		})
	}
}

// Every market table's natural key rejects the same row twice, also when
// its nullable columns are NULL, and accepts a row of another dataset.
func TestUniqueKeys(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		db := migrated(t, b)
		ctx := testCtx(t)
		for _, table := range sortedTables() {
			for _, nulls := range []bool{false, true} {
				sql, args := genericRow(t, db, table, nulls)
				if nulls {
					args[0] = "TEST.NULLS" // dataset: keep apart from the first row
				}
				if _, err := db.Exec(ctx, sql, args...); err != nil {
					t.Fatalf("%s (nulls %v): first insert: %v", table, nulls, err)
				}
				_, err := db.Exec(ctx, sql, args...)
				if got := sqlState(err); got != "23505" {
					t.Errorf("%s (nulls %v): second insert: SQLSTATE %q (%v), want 23505", table, nulls, got, err)
				}
			}
			// Same row, other dataset: no collision.
			sql, args := genericRow(t, db, table, false)
			args[0] = "OTHER.DS"
			if _, err := db.Exec(ctx, sql, args...); err != nil {
				t.Errorf("%s: other dataset: %v", table, err)
			}
		}
	})
}

func sortedTables() []string {
	var out []string
	for _, tb := range marketTables {
		out = append(out, tb)
	}
	slices.Sort(out)
	return out
}

// The _v views turn fixed-point into exact decimals with scale 9 and
// nanoseconds into exact ISO 8601 text; NULLs (undefined sentinels) stay NULL.
func TestViewsDecimals(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		db := migrated(t, b)
		ctx := testCtx(t)
		q := dbq.New(db)
		ts := baseTime
		if _, err := q.CopyTrades(ctx, []dbq.CopyTradesParams{
			{Dataset: "GLBX.MDP3", Ts: ts, TsRecv: baseNs, TsEvent: ptr(baseNs - 1000), Rtype: 0, PublisherID: 1,
				InstrumentID: 5482, Action: "T", Side: "B", Price: ptr(int64(372025000000000)), Size: ptr(int64(3)),
				Flags: 130, TsInDelta: 12, Sequence: 77},
			{Dataset: "GLBX.MDP3", Ts: ts.Add(time.Second), TsRecv: baseNs + 1e9, Rtype: 0, PublisherID: 1,
				InstrumentID: 5482, Action: "T", Side: "N", Price: nil, Size: nil, Sequence: 78},
			{Dataset: "GLBX.MDP3", Ts: ts.Add(2 * time.Second), TsRecv: baseNs + 2e9, TsEvent: ptr(baseNs), Rtype: 0, PublisherID: 1,
				InstrumentID: 5482, Action: "T", Side: "A", Price: ptr(int64(-5)), Size: ptr(int64(1)), Sequence: 79},
		}); err != nil {
			t.Fatalf("copy trades: %v", err)
		}
		rows, err := q.TradesDecimal(ctx, dbq.TradesDecimalParams{Dataset: "GLBX.MDP3", InstrumentIds: []int64{5482},
			StartTs: ts, EndTs: ts.Add(time.Minute), RowLimit: ptr(int64(10))})
		if err != nil {
			t.Fatalf("TradesDecimal: %v", err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 3", len(rows))
		}
		if rows[0].Price == nil || *rows[0].Price != "372025.000000000" {
			t.Errorf("price %v, want 372025.000000000", show(rows[0].Price))
		}
		if rows[0].TsRecv != "2024-01-02T14:30:00.123456789Z" || show(rows[0].TsEvent) != "2024-01-02T14:30:00.123455789Z" {
			t.Errorf("times %q %q", rows[0].TsRecv, show(rows[0].TsEvent))
		}
		if rows[0].Side != "B" || rows[0].Flags != 130 || rows[0].Sequence != 77 || show(rows[0].Size) != "3" {
			t.Errorf("row 0: %+v", rows[0])
		}
		if rows[1].Price != nil || rows[1].TsEvent != nil || rows[1].Size != nil {
			t.Errorf("undefined values must stay NULL: price %v ts_event %v size %v", show(rows[1].Price), show(rows[1].TsEvent), show(rows[1].Size))
		}
		if show(rows[2].Price) != "-0.000000005" {
			t.Errorf("price %v, want -0.000000005", show(rows[2].Price))
		}
		// The SQL text itself, as the CLI and psql show it.
		if got := pgtest.Scalar[string](t, db, `SELECT price::text FROM trades_v WHERE sequence = 77`); got != "372025.000000000" {
			t.Errorf("price text %q", got)
		}
		if got := pgtest.Scalar[string](t, db, `SELECT fixed_to_numeric(1)::text || ' ' || fixed_to_numeric(-9223372036854775807)::text`); got != "0.000000001 -9223372036.854775807" {
			t.Errorf("fixed_to_numeric: %q", got)
		}

		// Statistics: a NULL quantity (i64::MAX) and the stat type's name.
		exec(t, db, `INSERT INTO statistics (dataset, ts, ts_recv, ts_event, rtype, publisher_id, instrument_id,
				ts_ref, price, quantity, sequence, ts_in_delta, stat_type, channel_id, update_action, stat_flags)
			VALUES ('GLBX.MDP3', $1, $2, $2, 24, 1, 5482, NULL, 5012250000000, NULL, 9, 0, 3, 0, 1, 1),
			       ('GLBX.MDP3', $1, $2, $2, 24, 1, 5482, $2, NULL, 123456, 10, 0, 9, 0, 1, 0)`, ts, baseNs)
		stats, err := q.StatisticsDecimal(ctx, dbq.StatisticsDecimalParams{Dataset: "GLBX.MDP3", InstrumentIds: []int64{5482},
			StartTs: ts, EndTs: ts.Add(time.Minute), RowLimit: ptr(int64(10))})
		if err != nil {
			t.Fatalf("StatisticsDecimal: %v", err)
		}
		if len(stats) != 2 {
			t.Fatalf("%d statistics, want 2", len(stats))
		}
		if show(stats[0].StatTypeName) != "settlement_price" || show(stats[0].Price) != "5012.250000000" || stats[0].Quantity != nil || stats[0].TsRef != nil {
			t.Errorf("settlement: %+v", stats[0])
		}
		if show(stats[1].StatTypeName) != "open_interest" || stats[1].Price != nil || show(stats[1].Quantity) != "123456" {
			t.Errorf("open interest: %+v", stats[1])
		}

		// Every view of every market table answers, its decimals with scale 9.
		for _, table := range sortedTables() {
			sql, args := genericRow(t, db, table, false)
			args[0] = "VIEWS.DS"
			exec(t, db, sql, args...)
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM `+table+`_v WHERE dataset = 'VIEWS.DS'`).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s_v: %d rows, %v", table, n, err)
			}
		}
		if got := pgtest.Scalar[string](t, db, `SELECT bid_px_09::text || ' ' || ts_recv FROM mbp_10_v WHERE dataset = 'VIEWS.DS'`); got != "0.000000001 2024-01-02T14:30:00.123456789Z" {
			t.Errorf("mbp_10_v: %q", got)
		}
	})
}

func show[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

// The coverage view reports, per table, dataset and instrument, the first
// and last ts and the row count.
// TestCoverage: rows already in the tables when 00011 runs are counted
// into coverage_daily, which the coverage view sums (loads then keep it
// up to date: see TestCoverageIsCountedAtLoadTime in cmd/hdi).
func TestCoverage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		url := b.newDB(t)
		m := openMigrator(t, url)
		defer m.Close()
		ctx := testCtx(t)
		if _, err := m.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.DownTo(ctx, 10); err != nil {
			t.Fatal(err)
		}
		db := pgtest.Connect(t, url)
		q := dbq.New(db)
		t0 := time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC)
		var trades []dbq.CopyTradesParams
		for i := range 5 {
			id := int64(5482)
			if i >= 3 {
				id = 4916
			}
			ns := t0.UnixNano() + int64(i)*60e9
			trades = append(trades, dbq.CopyTradesParams{Dataset: "GLBX.MDP3", Ts: time.Unix(0, ns).UTC(), TsRecv: ns, TsEvent: ptr(ns),
				PublisherID: 1, InstrumentID: id, Action: "T", Side: "A", Price: ptr(int64(1e9)), Size: ptr(int64(1)), Sequence: int64(i)})
		}
		if n, err := q.CopyTrades(ctx, trades); err != nil || n != 5 {
			t.Fatalf("copy: %d, %v", n, err)
		}
		exec(t, db, `INSERT INTO ohlcv_1d (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
			VALUES ('XNAS.ITCH', '2024-01-02', 1704153600000000000, 35, 2, 7, 1, 2, 1, 2, 100)`)
		if _, err := m.Up(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := q.Coverage(ctx, dbq.CoverageParams{})
		if err != nil {
			t.Fatalf("Coverage: %v", err)
		}
		want := []dbq.Coverage{
			{TableName: "ohlcv_1d", Dataset: "XNAS.ITCH", InstrumentID: 7, FirstTs: date("2024-01-02"), LastTs: date("2024-01-02"), RowCount: 1},
			{TableName: "trades", Dataset: "GLBX.MDP3", InstrumentID: 4916, FirstTs: t0.Add(3 * time.Minute), LastTs: t0.Add(4 * time.Minute), RowCount: 2},
			{TableName: "trades", Dataset: "GLBX.MDP3", InstrumentID: 5482, FirstTs: t0, LastTs: t0.Add(2 * time.Minute), RowCount: 3},
		}
		if len(got) != len(want) {
			t.Fatalf("coverage %+v, want %+v", got, want)
		}
		for i := range want {
			g := got[i]
			if g.TableName != want[i].TableName || g.Dataset != want[i].Dataset || g.InstrumentID != want[i].InstrumentID ||
				!g.FirstTs.Equal(want[i].FirstTs) || !g.LastTs.Equal(want[i].LastTs) || g.RowCount != want[i].RowCount {
				t.Errorf("coverage[%d] = %+v, want %+v", i, g, want[i])
			}
		}
		only, err := q.Coverage(ctx, dbq.CoverageParams{TableName: ptr("trades"), Dataset: ptr("GLBX.MDP3")})
		if err != nil || len(only) != 2 {
			t.Errorf("filtered coverage: %+v, %v", only, err)
		}
	})
}

// One typed query per market table works on both backends.
func TestQueryPerTable(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		db := migrated(t, b)
		ctx := testCtx(t)
		q := dbq.New(db)
		for _, table := range sortedTables() {
			sql, args := genericRow(t, db, table, false)
			if table == "definition" {
				setArg(t, db, sql, args, "leg_index", int32(0))
			}
			exec(t, db, sql, args...)
		}
		ds, ids, from, to, limit := "TEST.DS", []int64{1}, baseTime.Add(-time.Hour), baseTime.Add(time.Hour), int64(10)
		type countFn func() (int, error)
		n := func(l int, err error) (int, error) { return l, err }
		queries := map[string]countFn{
			"mbo": func() (int, error) {
				r, err := q.Mbo(ctx, dbq.MboParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"mbp_1": func() (int, error) {
				r, err := q.Mbp1(ctx, dbq.Mbp1Params{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"mbp_10": func() (int, error) {
				r, err := q.Mbp10(ctx, dbq.Mbp10Params{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				if err == nil && len(r) == 1 && (r[0].AskCt09 != 1 || r[0].BidPx09 == nil) {
					t.Errorf("mbp_10 levels: %+v", r[0])
				}
				return n(len(r), err)
			},
			"tbbo": func() (int, error) {
				r, err := q.Tbbo(ctx, dbq.TbboParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"trades": func() (int, error) {
				r, err := q.Trades(ctx, dbq.TradesParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"bbo_1s": func() (int, error) {
				r, err := q.Bbo1s(ctx, dbq.Bbo1sParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"bbo_1m": func() (int, error) {
				r, err := q.Bbo1m(ctx, dbq.Bbo1mParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"cmbp_1": func() (int, error) {
				r, err := q.Cmbp1(ctx, dbq.Cmbp1Params{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"tcbbo": func() (int, error) {
				r, err := q.Tcbbo(ctx, dbq.TcbboParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"cbbo_1s": func() (int, error) {
				r, err := q.Cbbo1s(ctx, dbq.Cbbo1sParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"cbbo_1m": func() (int, error) {
				r, err := q.Cbbo1m(ctx, dbq.Cbbo1mParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"ohlcv_1s": func() (int, error) {
				r, err := q.Ohlcv1s(ctx, dbq.Ohlcv1sParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"ohlcv_1m": func() (int, error) {
				r, err := q.Ohlcv1m(ctx, dbq.Ohlcv1mParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"ohlcv_1h": func() (int, error) {
				r, err := q.Ohlcv1h(ctx, dbq.Ohlcv1hParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"ohlcv_1d": func() (int, error) {
				r, err := q.Ohlcv1d(ctx, dbq.Ohlcv1dParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"ohlcv_eod": func() (int, error) {
				r, err := q.OhlcvEod(ctx, dbq.OhlcvEodParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"statistics": func() (int, error) {
				r, err := q.Statistics(ctx, dbq.StatisticsParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit, StatTypes: []int32{1}})
				return n(len(r), err)
			},
			"status": func() (int, error) {
				r, err := q.Status(ctx, dbq.StatusParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				if err == nil && len(r) == 1 && show(r[0].ActionName) != "pre_open" {
					t.Errorf("status action name %v", show(r[0].ActionName))
				}
				return n(len(r), err)
			},
			"imbalance": func() (int, error) {
				r, err := q.Imbalance(ctx, dbq.ImbalanceParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
			"definition": func() (int, error) {
				r, err := q.Definitions(ctx, dbq.DefinitionsParams{Dataset: ds, InstrumentIds: ids, StartTs: from, EndTs: to, RowLimit: &limit})
				return n(len(r), err)
			},
		}
		for _, table := range sortedTables() {
			f, ok := queries[table]
			if !ok {
				t.Errorf("no query for %s", table)
				continue
			}
			if got, err := f(); err != nil || got != 1 {
				t.Errorf("%s: %d rows, %v; want 1", table, got, err)
			}
		}
		// Outside the range, or another instrument: nothing.
		if r, err := q.Trades(ctx, dbq.TradesParams{Dataset: ds, InstrumentIds: ids, StartTs: to, EndTs: to.Add(time.Hour), RowLimit: &limit}); err != nil || len(r) != 0 {
			t.Errorf("trades out of range: %d, %v", len(r), err)
		}
		// Definitions leg 0 at a time, and as instruments.
		if d, err := q.InstrumentAt(ctx, dbq.InstrumentAtParams{Dataset: ds, InstrumentID: 1, At: to}); err != nil || d.RawSymbol != "A" {
			t.Errorf("InstrumentAt: %+v, %v", d, err)
		}
		// Bookkeeping round trip.
		run, err := q.CreateRun(ctx, dbq.CreateRunParams{Job: "test", Parameters: []byte(`{"a":1}`)})
		if err != nil {
			t.Fatalf("CreateRun: %v", err)
		}
		if err := q.RecordUnit(ctx, dbq.RecordUnitParams{UnitKey: "u1", RunID: run.RunID, Provider: "databento", Dataset: ptr(ds),
			Schema: ptr("trades"), TargetTable: "trades", Symbols: []string{"ES.c.0"}, Status: "done", RowsInserted: 1,
			StartedAt: time.Now()}); err != nil {
			t.Fatalf("RecordUnit: %v", err)
		}
		if n, err := q.CopyQuarantine(ctx, []dbq.CopyQuarantineParams{{RunID: run.RunID, UnitKey: "u1", TargetTable: "trades",
			Rule: "price_positive", Severity: "error", Message: "price <= 0", Field: ptr("price"), Record: []byte(`{"price":-1}`)}}); err != nil || n != 1 {
			t.Fatalf("CopyQuarantine: %d, %v", n, err)
		}
		if err := q.FinishRun(ctx, dbq.FinishRunParams{RunID: run.RunID, Status: "succeeded", UnitsTotal: 1, UnitsDone: 1, RowsInserted: 1, RowsQuarantined: 1}); err != nil {
			t.Fatalf("FinishRun: %v", err)
		}
		keys, err := q.DoneUnitKeys(ctx, dbq.DoneUnitKeysParams{UnitKeys: []string{"u1", "u2"}, TargetTable: "trades"})
		if err != nil || !slices.Equal(keys, []string{"u1"}) {
			t.Errorf("DoneUnitKeys: %v, %v", keys, err)
		}
		// The ledger is per target table: u1 into another table is not done.
		if keys, err := q.DoneUnitKeys(ctx, dbq.DoneUnitKeysParams{UnitKeys: []string{"u1"}, TargetTable: "my_trades"}); err != nil || len(keys) != 0 {
			t.Errorf("DoneUnitKeys into another table: %v, %v", keys, err)
		}
		qs, err := q.Quarantine(ctx, dbq.QuarantineParams{RunID: run.RunID, RowLimit: ptr(int64(10))})
		if err != nil || len(qs) != 1 || string(qs[0].Record) != `{"price": -1}` {
			t.Errorf("Quarantine: %+v, %v", qs, err)
		}
		runs, err := q.Runs(ctx, dbq.RunsParams{Job: ptr("test"), RowLimit: ptr(int64(5))})
		if err != nil || len(runs) != 1 || runs[0].Status != "succeeded" || runs[0].FinishedAt == nil {
			t.Errorf("Runs: %+v, %v", runs, err)
		}
	})
}

// ES.c.0, ES.FUT, ESH4 and 5482 resolve to the right contract on dates
// across the March 2024 roll.
func TestResolveSymbol(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		db := migrated(t, b)
		ctx := testCtx(t)
		q := dbq.New(db)
		const ds = "GLBX.MDP3"
		maps := []dbq.InsertSymbolMappingsParams{
			{StypeIn: "continuous", StypeInSymbol: "ES.c.0", StypeOutSymbol: "5482", StartDate: date("2023-12-15"), EndDate: date("2024-03-08")},
			{StypeIn: "continuous", StypeInSymbol: "ES.c.0", StypeOutSymbol: "4916", StartDate: date("2024-03-08"), EndDate: date("2024-06-14")},
			{StypeIn: "parent", StypeInSymbol: "ES.FUT", StypeOutSymbol: "5482", StartDate: date("2023-12-15"), EndDate: date("2024-03-16")},
			{StypeIn: "parent", StypeInSymbol: "ES.FUT", StypeOutSymbol: "4916", StartDate: date("2023-12-15"), EndDate: date("2024-06-22")},
			{StypeIn: "raw_symbol", StypeInSymbol: "ESH4", StypeOutSymbol: "5482", StartDate: date("2023-12-15"), EndDate: date("2024-03-16")},
			{StypeIn: "raw_symbol", StypeInSymbol: "ESM4", StypeOutSymbol: "4916", StartDate: date("2023-12-15"), EndDate: date("2024-06-22")},
		}
		for i := range maps {
			maps[i].Dataset, maps[i].StypeOut, maps[i].Source = ds, "instrument_id", "dbn_metadata"
		}
		if err := q.InsertSymbolMappings(ctx, maps).Close(); err != nil {
			t.Fatalf("insert mappings: %v", err)
		}
		// Reloading is a no-op.
		if err := q.InsertSymbolMappings(ctx, maps[:1]).Close(); err != nil {
			t.Fatalf("reinsert: %v", err)
		}
		var n int64
		if err := db.QueryRow(ctx, `SELECT count(*) FROM symbol_mappings`).Scan(&n); err != nil || n != int64(len(maps)) {
			t.Errorf("%d mappings after a reload, want %d (%v)", n, len(maps), err)
		}
		// Definitions, including ESU4 which has no mapping, and an older
		// definition of 5482 under another symbol.
		for _, d := range []struct {
			id  int64
			sym string
			at  string
		}{{5482, "ESH4", "2024-01-02T00:00:00Z"}, {4916, "ESM4", "2024-01-02T00:00:00Z"}, {7000, "ESU4", "2024-03-01T00:00:00Z"}} {
			at, _ := time.Parse(time.RFC3339, d.at)
			sql, args := genericRow(t, db, "definition", false)
			args[0], args[1] = ds, at
			setArg(t, db, sql, args, "ts_recv", at.UnixNano())
			setArg(t, db, sql, args, "instrument_id", d.id)
			setArg(t, db, sql, args, "raw_symbol", d.sym)
			setArg(t, db, sql, args, "leg_index", int32(0))
			exec(t, db, sql, args...)
		}
		type res struct {
			id    int64
			raw   string
			stype string
		}
		cases := []struct {
			symbol, on string
			want       []res
		}{
			{"ES.c.0", "2024-01-02", []res{{5482, "ESH4", "continuous"}}},
			{"ES.c.0", "2024-03-07", []res{{5482, "ESH4", "continuous"}}},
			{"ES.c.0", "2024-03-08", []res{{4916, "ESM4", "continuous"}}},
			{"ES.c.0", "2024-06-14", nil},
			{"ES.FUT", "2024-03-08", []res{{4916, "ESM4", "parent"}, {5482, "ESH4", "parent"}}},
			{"ES.FUT", "2024-03-16", []res{{4916, "ESM4", "parent"}}},
			{"ESH4", "2024-03-07", []res{{5482, "ESH4", "raw_symbol"}}},
			{"ESM4", "2024-03-08", []res{{4916, "ESM4", "raw_symbol"}}},
			{"5482", "2024-03-07", []res{{5482, "ESH4", "instrument_id"}}},
			{"4916", "2024-03-20", []res{{4916, "ESM4", "instrument_id"}}},
			{"ESU4", "2024-03-07", []res{{7000, "ESU4", "raw_symbol"}}},
			{"ESU4", "2024-02-28", nil},
			{"NQ.c.0", "2024-03-07", nil},
		}
		for _, c := range cases {
			rows, err := q.ResolveSymbol(ctx, dbq.ResolveSymbolParams{Dataset: ds, Symbol: c.symbol, OnDate: date(c.on)})
			if err != nil {
				t.Errorf("%s on %s: %v", c.symbol, c.on, err)
				continue
			}
			var got []res
			for _, r := range rows {
				got = append(got, res{r.InstrumentID, r.RawSymbol, r.StypeIn})
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s on %s: %v, want %v", c.symbol, c.on, got, c.want)
			}
		}
		// Periods across the roll, clipped to the range.
		periods, err := q.SymbolPeriods(ctx, dbq.SymbolPeriodsParams{Dataset: ds, Symbol: "ES.c.0", StartDate: date("2024-03-01"), EndDate: date("2024-04-01")})
		if err != nil || len(periods) != 2 ||
			periods[0].InstrumentID != 5482 || !periods[0].StartDate.Equal(date("2024-03-01")) || !periods[0].EndDate.Equal(date("2024-03-08")) ||
			periods[1].InstrumentID != 4916 || !periods[1].StartDate.Equal(date("2024-03-08")) || !periods[1].EndDate.Equal(date("2024-04-01")) {
			t.Errorf("SymbolPeriods: %+v, %v", periods, err)
		}
		syms, err := q.SymbolsForInstrument(ctx, dbq.SymbolsForInstrumentParams{Dataset: ds, InstrumentID: ptr(int64(5482)), OnDate: date("2024-03-07")})
		if err != nil || len(syms) != 3 {
			t.Errorf("SymbolsForInstrument: %+v, %v", syms, err)
		}
		// The lookup is indexed.
		plan := explain(t, db, `SELECT * FROM symbol_mappings WHERE dataset = 'GLBX.MDP3' AND stype_in_symbol = 'ES.c.0'
			AND start_date <= '2024-03-07' AND '2024-03-07' < end_date`)
		if !strings.Contains(plan, "symbol_mappings_key") {
			t.Errorf("mapping lookup does not use symbol_mappings_key:\n%s", plan)
		}
	})
}

// setArg replaces the argument of column name in a genericRow insert.
func setArg(t *testing.T, db *pgxpool.Pool, sql string, args []any, name string, v any) {
	t.Helper()
	open := strings.Index(sql, "(")
	cols := strings.Split(sql[open+1:strings.Index(sql, ")")], ", ")
	for i, c := range cols {
		if c == (pgx.Identifier{name}).Sanitize() {
			args[i] = v
			return
		}
	}
	t.Fatalf("no column %s in %s", name, sql)
}

func explain(t *testing.T, db *pgxpool.Pool, sql string) string {
	t.Helper()
	ctx := testCtx(t)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+sql)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestRekeyOlderDatabase: 00007 brings a database created by an earlier
// build (ledger keyed by unit_key alone, keys starting with dataset) to the
// current layout, keeping its rows.
func TestRekeyOlderDatabase(t *testing.T) {
	url := pgtest.NewDB(t)
	ctx := testCtx(t)
	m := openMigrator(t, url)
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DownTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	db := pgtest.Connect(t, url)
	exec(t, db, `ALTER TABLE units DROP CONSTRAINT units_pkey, ADD PRIMARY KEY (unit_key)`)
	for table, rest := range map[string]string{
		"trades":   "instrument_id, ts, ts_recv, publisher_id, sequence, action, side, depth, price, size, ts_event, flags",
		"ohlcv_1m": "instrument_id, ts, ts_event, publisher_id",
	} {
		exec(t, db, `ALTER TABLE `+table+` DROP CONSTRAINT `+table+`_key, ADD CONSTRAINT `+table+`_key UNIQUE NULLS NOT DISTINCT (dataset, `+rest+`)`)
	}
	exec(t, db, `INSERT INTO ohlcv_1m (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
		VALUES ('GLBX.MDP3', '2024-01-02 14:30:00+00', 1704205800000000000, 33, 1, 5482, 1, 2, 0, 1, 10)`)
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("00007 on an older database: %v", err)
	}
	if def := pgtest.Scalar[string](t, db, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'units_pkey'`); def != "PRIMARY KEY (unit_key, target_table)" {
		t.Errorf("units: %s", def)
	}
	for table, want := range map[string]string{
		"trades":   "UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, sequence, action, side, depth, price, size, ts_event, flags, dataset)",
		"ohlcv_1m": "UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_event, publisher_id, dataset)",
		"mbo":      "UNIQUE NULLS NOT DISTINCT (instrument_id, ts, ts_recv, publisher_id, channel_id, sequence, order_id, action, side, price, size, ts_event, flags, dataset)",
	} {
		if def := pgtest.Scalar[string](t, db, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1`, table+"_key"); def != want {
			t.Errorf("%s_key: %s", table, def)
		}
	}
	if n := pgtest.Scalar[int64](t, db, `SELECT count(*) FROM ohlcv_1m`); n != 1 {
		t.Errorf("ohlcv_1m lost its row: %d", n)
	}
	if def := pgtest.Scalar[string](t, db, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'symbol_mappings_key'`); !strings.HasPrefix(def, "UNIQUE (dataset, ") {
		t.Errorf("symbol_mappings_key must keep its order: %s", def)
	}
}
