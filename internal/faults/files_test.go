package faults

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/synth"
)

// tradesFile writes n synthetic trades (DBN v3, zstd unless plain).
func tradesFile(t *testing.T, n int, plain bool) string {
	t.Helper()
	ext := ".dbn.zst"
	if plain {
		ext = ".dbn"
	}
	p := filepath.Join(t.TempDir(), "trades"+ext)
	if err := synth.WriteTrades(p, n, !plain); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDatabaseErrorMidUnit makes PostgreSQL raise on the 150,000th row of a
// unit (a trigger): hdi fails with the server's message and the unit, and
// nothing of the unit is committed; without the trigger a re-run loads it.
func TestDatabaseErrorMidUnit(t *testing.T) {
	const n = 200_000
	file := tradesFile(t, n, false)
	dbURL, pool := migratedDB(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'boom: sequence % refused', NEW.sequence USING ERRCODE = 'P0001'; END $$;
		CREATE TRIGGER boom BEFORE INSERT ON trades FOR EACH ROW WHEN (NEW.sequence = 150000) EXECUTE FUNCTION boom()`); err != nil {
		t.Fatal(err)
	}
	r := hdi(t, env(t, dbURL), "ingest", "--provider", "databento", "--file", file)
	wantFail(t, r, 0, "boom: sequence 150000 refused", "failed unit databento:file:GLBX.MDP3:trades:", "0 done", "1 failed")
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != 0 {
		t.Fatalf("a failed unit left %d rows", got)
	}
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'failed' AND error LIKE '%boom%'`); got != 1 {
		t.Fatalf("the ledger should record the failed unit with its error (%d rows)", got)
	}
	if _, err := pool.Exec(ctx, `DROP TRIGGER boom ON trades`); err != nil {
		t.Fatal(err)
	}
	mustHDI(t, env(t, dbURL), "ingest", "--provider", "databento", "--file", file)
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != n {
		t.Fatalf("re-run: %d rows, want %d", got, n)
	}
}

// TestCorruptAndTruncatedDBN loads a truncated zstd file and a plain file
// with a corrupted record header: each fails with one line naming the file
// and the byte offset, and nothing of it is loaded; a good file beside them
// loads.
func TestCorruptAndTruncatedDBN(t *testing.T) {
	const n = 50_000
	dbURL, pool := migratedDB(t)
	dir := t.TempDir()

	good := tradesFile(t, n, true)
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.dbn")
	if err := os.WriteFile(truncated, raw[:len(raw)-len(raw)/3-7], 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.dbn")
	bad := append([]byte(nil), raw...)
	// A record in the middle: records are 48 bytes; find one by its
	// length byte (12 = 48/4) right after the metadata.
	off := len(bad) - 48*(n/2)
	if bad[off] != 12 {
		t.Fatalf("test setup: no record header at byte %d", off)
	}
	bad[off] = 0 // a zero-length record
	if err := os.WriteFile(corrupt, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	zst := tradesFile(t, n, false)
	zraw, err := os.ReadFile(zst)
	if err != nil {
		t.Fatal(err)
	}
	zTrunc := filepath.Join(dir, "truncated.dbn.zst")
	if err := os.WriteFile(zTrunc, zraw[:len(zraw)/2], 0o644); err != nil {
		t.Fatal(err)
	}

	for _, f := range []string{truncated, corrupt, zTrunc} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := hdi(t, env(t, dbURL), "ingest", "--provider", "databento", "--file", f)
			wantFail(t, r, 0, f, "byte")
			if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != 0 {
				t.Fatalf("a bad file loaded %d rows", got)
			}
			for _, line := range strings.Split(r.stderr, "\n") {
				if strings.Contains(line, "byte") && strings.Contains(line, f) {
					t.Logf("message: %s", line)
					return
				}
			}
			t.Fatalf("no single line names the file and the byte offset:\n%s", r.stderr)
		})
	}
	mustHDI(t, env(t, dbURL), "ingest", "--provider", "databento", "--file", good)
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != n {
		t.Fatalf("good file: %d rows, want %d", got, n)
	}
}
