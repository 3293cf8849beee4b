package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scalar runs q and returns its single value; the test fails on any error.
func Scalar[T any](t testing.TB, pool *pgxpool.Pool, q string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// Checksum is an order-independent digest of a table's rows,
// "COUNT:MD5"; two tables with the same rows have the same checksum.
func Checksum(t testing.TB, pool *pgxpool.Pool, table string) string {
	t.Helper()
	// The alias names the whole row; it must not be a column's name.
	return Scalar[string](t, pool, `SELECT count(*) || ':' || coalesce(md5(string_agg(h, '' ORDER BY h)), '')
		FROM (SELECT md5(pgtest_row::text) h FROM `+pgx.Identifier{table}.Sanitize()+` pgtest_row) s`)
}
