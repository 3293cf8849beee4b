package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend is a kind of server the migrations must work on.
type backend struct {
	name      string
	timescale bool
	// newDB returns the URL of a fresh, empty database.
	newDB func(t *testing.T) string
}

// timescaleSlots bounds how many PGlite servers (a WASM PostgreSQL each,
// hundreds of MB) run at once.
var timescaleSlots = make(chan struct{}, 2)

var backends = []backend{
	{name: "postgres", newDB: func(t *testing.T) string { return pgtest.NewDB(t) }},
	{name: "timescaledb", timescale: true, newDB: func(t *testing.T) string {
		timescaleSlots <- struct{}{}
		t.Cleanup(func() { <-timescaleSlots })
		// One session at a time: make the pool say so.
		return pgtest.NewTimescaleDB(t) + "&pool_max_conns=1"
	}},
}

// forEachBackend runs f as a parallel subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openMigrator opens the embedded migrations on url. NoLock: the PGlite
// server has a single session, and the advisory lock buys nothing in tests.
func openMigrator(t *testing.T, url string) *migrate.Migrator {
	t.Helper()
	m, err := migrate.Open(testCtx(t), url, migrate.Options{NoLock: true})
	if err != nil {
		t.Fatalf("open migrator: %v", err)
	}
	return m
}

// migrated returns a pool on a fresh database of backend b with every
// migration applied.
func migrated(t *testing.T, b backend) *pgxpool.Pool {
	t.Helper()
	url := b.newDB(t)
	m := openMigrator(t, url)
	if _, err := m.Up(testCtx(t)); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close migrator: %v", err)
	}
	return pgtest.Connect(t, url)
}

func exec(t *testing.T, db *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", firstLine(sql), err)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// marketTables maps each Databento schema to its table.
var marketTables = map[string]string{
	"mbo": "mbo", "mbp-1": "mbp_1", "mbp-10": "mbp_10", "tbbo": "tbbo", "trades": "trades",
	"bbo-1s": "bbo_1s", "bbo-1m": "bbo_1m", "cmbp-1": "cmbp_1", "tcbbo": "tcbbo",
	"cbbo-1s": "cbbo_1s", "cbbo-1m": "cbbo_1m",
	"ohlcv-1s": "ohlcv_1s", "ohlcv-1m": "ohlcv_1m", "ohlcv-1h": "ohlcv_1h", "ohlcv-1d": "ohlcv_1d", "ohlcv-eod": "ohlcv_eod",
	"statistics": "statistics", "status": "status", "imbalance": "imbalance", "definition": "definition",
}

// column is one column of a table as the catalog describes it.
type column struct {
	name     string
	typ      string // format_type, e.g. bigint, text, timestamp with time zone
	nullable bool
}

func columns(t *testing.T, db *pgxpool.Pool, table string) []column {
	t.Helper()
	rows, err := db.Query(testCtx(t), `
		SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
		FROM pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, table)
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.name, &c.typ, &c.nullable)
		return c, err
	})
	if err != nil {
		t.Fatalf("columns of %s: %v", table, err)
	}
	return cols
}

// baseTime is the time of the generic rows: 2024-01-02 14:30:00.123456789 UTC.
const baseNs int64 = 1704205800_123456789

var baseTime = time.Unix(0, baseNs).UTC().Truncate(time.Microsecond)

// genericRow builds an INSERT of one row into table from its columns alone:
// dataset 'TEST.DS', ts baseTime, every bigint column whose name starts
// with ts_ baseNs, other numbers 1, text 'A'. With nulls, every nullable
// column is NULL instead.
func genericRow(t *testing.T, db *pgxpool.Pool, table string, nulls bool) (string, []any) {
	t.Helper()
	cols := columns(t, db, table)
	var names, params []string
	var args []any
	for _, c := range cols {
		var v any
		switch {
		case nulls && c.nullable:
			v = nil
		case c.name == "dataset":
			v = "TEST.DS"
		case c.typ == "timestamp with time zone":
			v = baseTime
		case c.typ == "text":
			v = "A"
		case c.typ == "bigint" && strings.HasPrefix(c.name, "ts_") && c.name != "ts_in_delta":
			v = baseNs
		case c.typ == "bigint":
			v = int64(1)
		case c.typ == "integer":
			v = int32(1)
		case c.typ == "smallint":
			v = int16(1)
		default:
			t.Fatalf("%s.%s: no generic value for type %s", table, c.name, c.typ)
		}
		names = append(names, pgx.Identifier{c.name}.Sanitize())
		args = append(args, v)
		params = append(params, fmt.Sprintf("$%d", len(args)))
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(names, ", "), strings.Join(params, ", ")), args
}

func ptr[T any](v T) *T { return &v }

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}
