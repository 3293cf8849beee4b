package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDBIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := NewPool(t), NewPool(t)
	var da, db string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&da); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if da == db {
		t.Fatalf("two NewPool calls share database %s", da)
	}
	if _, err := a.Exec(ctx, "CREATE TABLE t (v int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, "CREATE TABLE t (v int)"); err != nil {
		t.Fatalf("databases are not isolated: %v", err)
	}
}

func TestAdminURLSharedCluster(t *testing.T) {
	t.Parallel()
	u1, u2 := AdminURL(t), AdminURL(t)
	if u1 != u2 {
		t.Fatalf("AdminURL changed: %s then %s", u1, u2)
	}
	if os.Getenv(EnvURL) != "" {
		t.Skip(EnvURL + " is set: the throwaway local cluster is not used")
	}
	local.mu.Lock()
	c := local.cluster
	local.mu.Unlock()
	if c == nil {
		t.Fatal("no throwaway cluster recorded")
	}
	if st := c.Status(context.Background()); !st.Running || !st.Accepting {
		t.Fatalf("throwaway cluster status: %+v", st)
	}
	if local.leash == nil {
		t.Error("no watchdog started")
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, old, name, want string }{
		{"postgres://u@127.0.0.1:5432/postgres", "postgres", "x", "postgres://u@127.0.0.1:5432/x"},
		{"postgres://postgres@/postgres?host=/tmp/a/run&port=5433&sslmode=disable", "postgres", "x", "postgres://postgres@/x?host=/tmp/a/run&port=5433&sslmode=disable"},
		{"host=/tmp dbname=postgres", "postgres", "x", "host=/tmp dbname=x"},
	} {
		if got := withDatabase(tc.in, tc.old, tc.name); got != tc.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestChecksum: the same rows in another order give the same checksum,
// other rows another one, and the count leads it.
func TestChecksum(t *testing.T) {
	pool := Connect(t, NewDB(t))
	for _, q := range []string{
		`CREATE TABLE a (x int, y text)`, `CREATE TABLE b (x int, y text)`, `CREATE TABLE c (x int, y text)`, `CREATE TABLE e (x int)`,
		`INSERT INTO a VALUES (1, 'p'), (2, 'q')`, `INSERT INTO b VALUES (2, 'q'), (1, 'p')`, `INSERT INTO c VALUES (1, 'p'), (2, 'r')`,
	} {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := Checksum(t, pool, "a"), Checksum(t, pool, "b"), Checksum(t, pool, "c")
	if a != b || a == c || !strings.HasPrefix(a, "2:") {
		t.Errorf("a %s, b %s, c %s", a, b, c)
	}
	if e := Checksum(t, pool, "e"); e != "0:" {
		t.Errorf("empty table: %q", e)
	}
	if n := Scalar[int64](t, pool, `SELECT sum(x) FROM a`); n != 3 {
		t.Errorf("Scalar = %d", n)
	}
}
