package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, url string, opts migrate.Options) *migrate.Migrator {
	t.Helper()
	m, err := migrate.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestUpStatusDownRedo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	m := open(t, url, migrate.Options{})
	latest, err := migrate.Latest()
	if err != nil || latest < 1 {
		t.Fatalf("latest = %d, %v", latest, err)
	}
	if err := m.Check(ctx); !errors.Is(err, migrate.ErrBehind) {
		t.Fatalf("fresh database: Check = %v, want ErrBehind", err)
	}
	if err := migrate.CheckSchema(ctx, pgtest.Connect(t, url)); !errors.Is(err, migrate.ErrBehind) || !strings.Contains(err.Error(), "hdi migrate up") {
		t.Fatalf("fresh database: CheckSchema = %v, want ErrBehind saying what to run", err)
	}
	ss, err := m.Status(ctx)
	if err != nil || len(ss) == 0 || ss[0].Applied {
		t.Fatalf("status before up: %+v %v", ss, err)
	}
	rs, err := m.Up(ctx)
	if err != nil || int64(len(rs)) != int64(len(ss)) {
		t.Fatalf("up applied %d of %d: %v", len(rs), len(ss), err)
	}
	if err := m.Check(ctx); err != nil {
		t.Fatalf("after up: %v", err)
	}
	if err := migrate.CheckSchema(ctx, pgtest.Connect(t, url)); err != nil {
		t.Fatalf("after up: CheckSchema = %v", err)
	}
	if cur, lat, _ := m.Versions(ctx); cur != latest || lat != latest {
		t.Fatalf("versions %d/%d, want %d", cur, lat, latest)
	}
	ss, _ = m.Status(ctx)
	for _, s := range ss {
		if !s.Applied || s.AppliedAt == nil {
			t.Fatalf("not applied after up: %+v", s)
		}
	}
	// The bookkeeping tables exist and take rows.
	pool := pgtest.Connect(t, url)
	if _, err := pool.Exec(ctx, `INSERT INTO runs (job) VALUES ('t')`); err != nil {
		t.Fatal(err)
	}
	rs, err = m.Redo(ctx)
	if err != nil || len(rs) != 2 || rs[0].Direction != "down" || rs[1].Direction != "up" {
		t.Fatalf("redo: %+v %v", rs, err)
	}
	rs, err = m.DownTo(ctx, 0)
	if err != nil || len(rs) != len(ss) {
		t.Fatalf("down to 0 rolled back %d: %v", len(rs), err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> $1`, migrate.VersionTable).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables left after down to 0: %d %v", n, err)
	}
	if rs, err := m.Down(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("down with nothing applied: %+v %v", rs, err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

func TestConcurrentUpsAreSerialised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	const n = 3
	var wg sync.WaitGroup
	applied := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := migrate.Open(ctx, url, migrate.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			rs, err := m.Up(ctx)
			applied[i], errs[i] = len(rs), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	latest, _ := migrate.Latest()
	ss, _ := open(t, url, migrate.Options{}).Status(ctx)
	if total != len(ss) {
		t.Fatalf("the runners applied %d migrations in all, want each of the %d exactly once", total, len(ss))
	}
	if cur, _, _ := open(t, url, migrate.Options{}).Versions(ctx); cur != latest {
		t.Fatalf("version %d, want %d", cur, latest)
	}
}

func TestFailedMigrationNamesTheFile(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"00001_ok.sql":     {Data: []byte("-- +goose Up\nCREATE TABLE a (x int);\n-- +goose Down\nDROP TABLE a;\n")},
		"00002_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (x nosuchtype);\n-- +goose Down\nDROP TABLE b;\n")},
	}
	m := open(t, pgtest.NewDB(t), migrate.Options{FS: fsys})
	_, err := m.Up(context.Background())
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); !contains(got, "00002_broken.sql") || !contains(got, "nosuchtype") {
		t.Fatalf("error %q should name the file and the cause", got)
	}
}

func TestUnreachableDatabaseFailsFast(t *testing.T) {
	t.Parallel()
	_, err := migrate.Open(context.Background(), "postgres://u:topsecret@127.0.0.1:1/db?sslmode=disable", migrate.Options{})
	if err == nil {
		t.Fatal("want an error")
	}
	if got := err.Error(); !contains(got, "127.0.0.1:1") || contains(got, "topsecret") {
		t.Fatalf("error %q should name host:port and never the password", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
