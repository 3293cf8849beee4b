package migrations_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

// With TimescaleDB every market table is a hypertable, compressed chunks
// read back the same rows and still reject duplicates, and the continuous
// aggregates refresh to the right bars. On plain PostgreSQL the same tables
// are plain tables with a BRIN index on ts, and the roll-ups are views that
// give the same bars.
func TestTimescaleFeatures(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		db := migrated(t, b)
		ctx := testCtx(t)
		q := dbq.New(db)
		tables := sortedTables()

		// Hypertables, or plain tables with BRIN.
		brin := pgtest.Scalar[[]string](t, db, `SELECT coalesce(array_agg(tablename::text ORDER BY tablename), '{}') FROM pg_indexes
			WHERE schemaname = 'public' AND indexname = tablename || '_ts_brin' AND indexdef LIKE '%USING brin (ts)%'`)
		if !slices.Equal(brin, tables) {
			t.Errorf("tables with a BRIN index on ts: %v, want %v", brin, tables)
		}
		hasExt := pgtest.Scalar[bool](t, db, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')`)
		if hasExt != b.timescale {
			t.Fatalf("timescaledb extension created: %v", hasExt)
		}
		if b.timescale {
			hts := pgtest.Scalar[[]string](t, db, `SELECT array_agg(hypertable_name::text ORDER BY hypertable_name)
				FROM timescaledb_information.hypertables WHERE compression_enabled`)
			if !slices.Equal(hts, tables) {
				t.Errorf("compressed hypertables %v, want %v", hts, tables)
			}
			if iv := pgtest.Scalar[string](t, db, `SELECT time_interval::text FROM timescaledb_information.dimensions
				WHERE hypertable_name = 'ohlcv_1d' AND column_name = 'ts'`); iv != "365 days" {
				t.Errorf("ohlcv_1d chunk interval %s", iv)
			}
			caggs := pgtest.Scalar[[]string](t, db, `SELECT array_agg(view_name::text ORDER BY view_name)
				FROM timescaledb_information.continuous_aggregates`)
			if want := []string{"bars_15m", "bars_1h", "bars_5m", "trade_bars_1m"}; !slices.Equal(caggs, want) {
				t.Errorf("continuous aggregates %v, want %v", caggs, want)
			}
		} else {
			kinds := pgtest.Scalar[[]string](t, db, `SELECT array_agg(relkind::text ORDER BY relname) FROM pg_class
				WHERE relnamespace = 'public'::regnamespace AND relname = ANY($1)`, tables)
			if len(kinds) != len(tables) || slices.ContainsFunc(kinds, func(k string) bool { return k != "r" }) {
				t.Errorf("relkinds %v, want plain tables", kinds)
			}
			views := pgtest.Scalar[[]string](t, db, `SELECT array_agg(relname::text ORDER BY relname) FROM pg_class
				WHERE relkind = 'v' AND relname IN ('bars_5m', 'bars_15m', 'bars_1h', 'trade_bars_1m')`)
			if len(views) != 4 {
				t.Errorf("roll-up views %v", views)
			}
		}

		// Load: 1m bars over 20 minutes for two instruments, and trades.
		t0 := time.Date(2024, 1, 2, 14, 0, 0, 0, time.UTC)
		for i := range 20 {
			for _, id := range []int64{5482, 4916} {
				ts := t0.Add(time.Duration(i) * time.Minute)
				o := 4_700_000_000_000 + int64(i)*250_000_000 + id
				exec(t, db, `INSERT INTO ohlcv_1m (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
					VALUES ('GLBX.MDP3', $1, $2, 33, 1, $3, $4::bigint, $4::bigint + 1000000000, $4::bigint - 1000000000, $4::bigint + 500000000, $5)`,
					ts, ts.UnixNano(), id, o, int64(i+1))
			}
		}
		var trades []dbq.CopyTradesParams
		for i := range 6 {
			ns := t0.UnixNano() + int64(i)*20e9 // every 20 s: 3 per minute
			trades = append(trades, dbq.CopyTradesParams{Dataset: "GLBX.MDP3", Ts: time.Unix(0, ns).UTC(), TsRecv: ns, TsEvent: ptr(ns - 500),
				PublisherID: 1, InstrumentID: 5482, Action: "T", Side: "B", Price: ptr(int64(100+i) * 1e9), Size: ptr(int64(i + 1)), Sequence: int64(i)})
		}
		if _, err := q.CopyTrades(ctx, trades); err != nil {
			t.Fatalf("copy trades: %v", err)
		}
		before := allTrades(t, db)

		if b.timescale {
			// The compression policy (trades: chunks older than 7 days) compresses the 2024 chunk.
			job := pgtest.Scalar[int](t, db, `SELECT job_id FROM timescaledb_information.jobs
				WHERE proc_name = 'policy_compression' AND hypertable_name = 'trades'`)
			exec(t, db, `CALL run_job($1)`, job)
			if n := pgtest.Scalar[int](t, db, `SELECT count(*)::int FROM timescaledb_information.chunks
				WHERE hypertable_name = 'trades' AND is_compressed`); n != 1 {
				t.Fatalf("%d compressed trades chunks, want 1", n)
			}
			// Refresh every aggregate, then read only what was materialized.
			for _, v := range []string{"bars_5m", "bars_15m", "bars_1h", "trade_bars_1m"} {
				exec(t, db, `CALL refresh_continuous_aggregate('`+v+`', NULL, NULL)`)
				exec(t, db, `ALTER MATERIALIZED VIEW `+v+` SET (timescaledb.materialized_only = true)`)
			}
		}
		if after := allTrades(t, db); !slices.Equal(after, before) {
			t.Errorf("trades read back differently:\n%v\nwant\n%v", after, before)
		}
		// A compressed chunk still rejects a duplicate.
		if _, err := q.CopyTrades(ctx, trades[:1]); sqlState(err) != "23505" {
			t.Errorf("duplicate into the (compressed) chunk: %v, want SQLSTATE 23505", err)
		}

		bars, err := q.Bars5m(ctx, dbq.Bars5mParams{Dataset: "GLBX.MDP3", InstrumentIds: []int64{5482}, StartTs: t0, EndTs: t0.Add(time.Hour)})
		if err != nil {
			t.Fatalf("Bars5m: %v", err)
		}
		if len(bars) != 4 {
			t.Fatalf("%d 5m bars, want 4: %+v", len(bars), bars)
		}
		for k, bar := range bars {
			first, last := 5*k, 5*k+4
			o := func(i int) int64 { return 4_700_000_000_000 + int64(i)*250_000_000 + 5482 }
			vol := int64(0)
			for i := first; i <= last; i++ {
				vol += int64(i + 1)
			}
			if !bar.Ts.Equal(t0.Add(time.Duration(k)*5*time.Minute)) || *bar.Open != o(first) || *bar.Close != o(last)+500_000_000 ||
				*bar.High != o(last)+1_000_000_000 || *bar.Low != o(first)-1_000_000_000 || bar.Volume != vol || bar.BarCount != 5 {
				t.Errorf("5m bar %d: %+v", k, bar)
			}
		}
		h, err := q.Bars1h(ctx, dbq.Bars1hParams{Dataset: "GLBX.MDP3", InstrumentIds: []int64{5482, 4916}, StartTs: t0, EndTs: t0.Add(time.Hour)})
		if err != nil || len(h) != 2 || h[0].BarCount != 20 || h[0].Volume != 210 {
			t.Errorf("Bars1h: %+v, %v", h, err)
		}
		b15, err := q.Bars15m(ctx, dbq.Bars15mParams{Dataset: "GLBX.MDP3", InstrumentIds: []int64{4916}, StartTs: t0, EndTs: t0.Add(time.Hour)})
		if err != nil || len(b15) != 2 || b15[0].BarCount != 15 || b15[1].BarCount != 5 {
			t.Errorf("Bars15m: %+v, %v", b15, err)
		}
		tb, err := q.TradeBars1m(ctx, dbq.TradeBars1mParams{Dataset: "GLBX.MDP3", InstrumentIds: []int64{5482}, StartTs: t0, EndTs: t0.Add(time.Hour)})
		if err != nil || len(tb) != 2 {
			t.Fatalf("TradeBars1m: %+v, %v", tb, err)
		}
		if *tb[0].Open != 100e9 || *tb[0].High != 102e9 || *tb[0].Low != 100e9 || *tb[0].Close != 102e9 || tb[0].Volume != 6 || tb[0].TradeCount != 3 ||
			*tb[1].Open != 103e9 || *tb[1].Close != 105e9 || tb[1].Volume != 15 || !tb[1].Ts.Equal(t0.Add(time.Minute)) {
			t.Errorf("trade bars: %+v %+v", tb[0], tb[1])
		}
	})
}

func allTrades(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(testCtx(t), `SELECT t::text FROM trades t ORDER BY ts_recv, sequence`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateTimescale: a database migrated without TimescaleDB (here: with
// hdi.timescaledb off) becomes hypertables with its rows, compression and
// continuous aggregates under `hdi migrate timescale`; a second run changes
// nothing, and plain PostgreSQL says what to install.
func TestMigrateTimescale(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testCtx(t)
		url := b.newDB(t)
		db := pgtest.Connect(t, url)
		if b.timescale {
			// The PGlite server is one session: the setting holds for the
			// migrator's connections too.
			exec(t, db, `SET hdi.timescaledb = 'off'`)
		}
		m := openMigrator(t, url)
		defer m.Close()
		if _, err := m.Up(ctx); err != nil {
			t.Fatal(err)
		}
		ts := time.Date(2024, 3, 1, 14, 30, 0, 0, time.UTC)
		exec(t, db, `INSERT INTO ohlcv_1d (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
			VALUES ('GLBX.MDP3', $1, $2, 35, 1, 5482, 5100250000000, 5110000000000, 5090000000000, 5105000000000, 1200)`, ts, ts.UnixNano())
		if !b.timescale {
			_, _, err := m.Timescale(ctx)
			if !errors.Is(err, migrate.ErrNoTimescale) || !strings.Contains(err.Error(), "shared_preload_libraries") {
				t.Fatalf("plain PostgreSQL: %v", err)
			}
			return
		}
		if n := pgtest.Scalar[int64](t, db, `SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'`); n != 0 {
			t.Fatal("the database should start plain")
		}
		exec(t, db, `RESET hdi.timescaledb`)
		rs, hts, err := m.Timescale(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].Direction != "down" || rs[1].Direction != "up" || len(hts) != len(sortedTables()) {
			t.Fatalf("results %+v, hypertables %v", rs, hts)
		}
		if n := pgtest.Scalar[int64](t, db, `SELECT count(*) FROM ohlcv_1d WHERE close = 5105000000000`); n != 1 {
			t.Fatalf("the row did not survive the conversion: %d", n)
		}
		caggs := pgtest.Scalar[int64](t, db, `SELECT count(*) FROM timescaledb_information.continuous_aggregates`)
		if caggs != 4 {
			t.Errorf("%d continuous aggregates, want 4", caggs)
		}
		rs, hts2, err := m.Timescale(ctx)
		if err != nil || len(rs) != 0 || !slices.Equal(hts, hts2) {
			t.Fatalf("second run: %+v %v %v", rs, hts2, err)
		}
	})
}
