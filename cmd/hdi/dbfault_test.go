package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
)

// TestQuerySaysTheDatabaseFailed: a query whose connection an
// administrator ends (here the query ends its own backend) fails with
// PostgreSQL's error and what to do about it: the database, not the query
// or its parameters, failed.
func TestQuerySaysTheDatabaseFailed(t *testing.T) {
	dir := t.TempDir()
	sql := "-- name: EndMyself :many\nSELECT pg_terminate_backend(pg_backend_pid()) AS ended;\n"
	if err := os.WriteFile(filepath.Join(dir, "end.sql"), []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": pgtest.NewMigratedDB(t), "HDI_QUERIES_DIR": dir}
	code, stdout, stderr := runCLI(t, env, "query", "EndMyself")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "57P01") || !strings.Contains(stderr, "the database is unavailable") ||
		!strings.Contains(stderr, "check that PostgreSQL is running, then try again") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
