//go:build faults

package faults

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/localpg"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

// TestPostgresRestartMidLoad restarts a throwaway PostgreSQL cluster (never
// the machine's server) while hdi copies a unit into it: the unit's
// transaction is lost with the connection, hdi retries it after the server
// is back, and the table ends with every row exactly once.
func TestPostgresRestartMidLoad(t *testing.T) {
	const n = 400_000
	ctx := context.Background()
	cl, err := localpg.Throwaway(ctx, t.TempDir())
	if err != nil {
		t.Skipf("no throwaway PostgreSQL cluster here: %v", err)
	}
	defer cl.Remove(context.Background())
	dbURL := cl.URL()
	file := tradesFile(t, n, false)
	e := env(t, dbURL)
	mustHDI(t, e, "migrate", "up")

	c := hdiCmd(t, e, "ingest", "--provider", "databento", "--file", file)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	watch, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := dbName(t, dbURL)
	waitFor(t, time.Minute, "hdi to copy rows", func() bool { return copying(watch, db) })
	watch.Close()
	if _, err := cl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	err = c.Wait()
	stderr := errb.String()
	if err != nil {
		t.Fatalf("hdi should retry the unit once the server is back: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "unit failed, retrying") {
		t.Fatalf("the restart came too late to test anything:\n%s", stderr)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != n {
		t.Fatalf("after a server restart: %d rows, want %d\n%s", got, n, stderr)
	}
}

func dbName(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// copying reports whether a COPY into db has processed rows (rows of an
// uncommitted unit are not visible, its progress is).
func copying(pool *pgxpool.Pool, db string) bool {
	var n int64
	_ = pool.QueryRow(context.Background(), `SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy p JOIN pg_database d ON d.oid = p.datid WHERE d.datname = $1`, db).Scan(&n)
	return n > 0
}
