// Package querytest loads test data for the query tests: Databento's sample
// DBN files (../shared/testdata/dbn next to the repository) into a migrated
// database, with the demo data set beside them, and a small
// continuous-contract roll data set.
package querytest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/synth"
)

// SampleDir returns <repo>/../shared/testdata/dbn, failing the test when it
// is missing.
func SampleDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..", "..")
	dir := filepath.Join(repo, "..", "shared", "testdata", "dbn")
	if _, err := os.Stat(filepath.Join(dir, "test_data.ohlcv-1d.v3.dbn.zst")); err != nil {
		t.Fatalf("sample DBN files missing: %v (they belong in %s)", err, dir)
	}
	return dir
}

// SampleFiles are the sample files loaded by Migrated.
var SampleFiles = []string{
	"test_data.ohlcv-1s.v3.dbn.zst", "test_data.ohlcv-1m.v3.dbn.zst", "test_data.ohlcv-1h.v3.dbn.zst",
	"test_data.ohlcv-1d.v3.dbn.zst", "test_data.trades.v3.dbn.zst", "test_data.tbbo.v3.dbn.zst",
	"test_data.statistics.v3.dbn.zst", "test_data.definition.v3.dbn.zst",
}

// Migrated returns the URL of a fresh migrated database holding the sample
// files, and a pool on it.
func Migrated(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	url := Empty(t)
	pool := pgtest.Connect(t, url)
	dir := SampleDir(t)
	for _, f := range SampleFiles {
		LoadDBN(t, pool, filepath.Join(dir, f))
	}
	return url, pool
}

// Datasets returns the URL of a fresh migrated database holding two
// datasets, and a pool on it: the sample files (GLBX.MDP3: ESH1, 2020;
// XNAS.ITCH: MSFT, 2021) and the demo data set (GLBX.MDP3: ES and NQ, March
// 2024, with continuous and parent mappings).
func Datasets(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	url, pool := Migrated(t)
	dir := t.TempDir()
	paths, err := synth.WriteDemo(dir, synth.DefaultDemo())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		LoadDBN(t, pool, p)
	}
	return url, pool
}

// Empty returns the URL of a fresh migrated database.
func Empty(t testing.TB) string {
	t.Helper()
	return pgtest.NewMigratedDB(t)
}

// LoadDBN loads one DBN file into the table of its schema: dataset from the
// metadata, ts from the index timestamp (ts_recv, ts_event for bars),
// sentinels as NULL, and the metadata's symbol mappings into symbol_mappings.
func LoadDBN(t testing.TB, pool *pgxpool.Pool, path string) {
	t.Helper()
	ctx := context.Background()
	r, err := dbn.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	meta := r.Metadata()
	table := strings.ReplaceAll(meta.Schema.String(), "-", "_")
	cols := tableColumns(t, pool, table)
	var (
		rt     *dbn.RecordType
		fields []*dbn.Field
		rows   [][]any
	)
	for r.Next() {
		rec := r.RecordBytes()
		if rt == nil {
			rt = r.RecordType()
			for _, c := range cols {
				if f := rt.Field(c); f != nil {
					fields = append(fields, f)
				}
			}
		}
		row := make([]any, 0, len(fields)+2)
		idx := binaryU64(rec, rt.IndexTsOffset)
		row = append(row, meta.Dataset, time.Unix(0, int64(idx)).UTC().Truncate(time.Microsecond))
		for _, f := range fields {
			row = append(row, value(f, rec))
		}
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	names := []string{"dataset", "ts"}
	for _, f := range fields {
		names = append(names, f.Name)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromRows(rows)); err != nil {
		t.Fatalf("load %s into %s: %v", filepath.Base(path), table, err)
	}
	for _, m := range meta.Mappings {
		for _, iv := range m.Intervals {
			if iv.Symbol == "" {
				continue
			}
			stypeIn := meta.STypeIn.String()
			if stypeIn == "" {
				stypeIn = "raw_symbol"
			}
			if _, err := pool.Exec(ctx, `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'dbn_metadata') ON CONFLICT DO NOTHING`,
				meta.Dataset, stypeIn, m.RawSymbol, meta.STypeOut.String(), iv.Symbol, iv.StartDate.Time(), iv.EndDate.Time()); err != nil {
				t.Fatalf("symbol mapping %s: %v", m.RawSymbol, err)
			}
		}
	}
}

func binaryU64(b []byte, off int) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[off+i])
	}
	return v
}

func value(f *dbn.Field, rec []byte) any {
	if f.IsUndef(rec) {
		return nil
	}
	switch f.Wire {
	case dbn.WireCString:
		return string(f.CString(rec))
	case dbn.WireChar:
		c := byte(f.Raw(rec))
		if c == 0 {
			return nil
		}
		return string([]byte{c})
	case dbn.WireU64:
		return int64(f.Uint(rec))
	}
	return f.Int(rec)
}

func tableColumns(t testing.TB, pool *pgxpool.Pool, table string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name NOT IN ('dataset', 'ts') ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(cols) == 0 {
		t.Fatalf("columns of %s: %v", table, err)
	}
	return cols
}

// Roll builds the roll data set in a migrated database: ES.c.0 maps to
// ESH4 (id 100) until 2024-03-15 and to ESM4 (id 200) from then on, in
// dataset GLBX.MDP3; both contracts have one daily bar (ohlcv_1d) a day from
// 2024-03-10 to 2024-03-20 (ESH4 closes at 5000+day, ESM4 at 6000+day) and
// raw_symbol mappings over the whole range.
func Roll(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	exec := func(sql string) {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	exec(`INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source) VALUES
		('GLBX.MDP3', 'continuous', 'ES.c.0', 'instrument_id', '100', '2024-03-01', '2024-03-15', 'test'),
		('GLBX.MDP3', 'continuous', 'ES.c.0', 'instrument_id', '200', '2024-03-15', '2024-04-01', 'test'),
		('GLBX.MDP3', 'raw_symbol', 'ESH4', 'instrument_id', '100', '2024-03-01', '2024-04-01', 'test'),
		('GLBX.MDP3', 'raw_symbol', 'ESM4', 'instrument_id', '200', '2024-03-01', '2024-04-01', 'test')`)
	exec(`INSERT INTO ohlcv_1d (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
		SELECT 'GLBX.MDP3', d, (extract(epoch FROM d) * 1e9)::bigint, 35, 1, i.id,
		       (i.base + extract(day FROM d))::bigint * 1000000000, (i.base + extract(day FROM d) + 1)::bigint * 1000000000,
		       (i.base + extract(day FROM d) - 1)::bigint * 1000000000, (i.base + extract(day FROM d))::bigint * 1000000000, 10
		FROM generate_series('2024-03-10'::timestamptz, '2024-03-20', '1 day') AS d,
		     (VALUES (100, 5000), (200, 6000)) AS i(id, base)`)
}
