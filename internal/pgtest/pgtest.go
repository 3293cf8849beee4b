// Package pgtest gives tests a throwaway PostgreSQL database each.
//
// # Which server
//
// When HDI_TEST_DATABASE_URL is set (an admin URL, e.g.
// postgres://postgres@127.0.0.1:5432/postgres), tests use that server.
// Otherwise the first call to AdminURL (or NewDB, NewPool) in a test binary
// creates and starts ONE throwaway local cluster (internal/localpg, from the
// PostgreSQL server binaries on the machine; fsync off) shared by all tests of
// that binary. So tests run on any machine with the server binaries and no
// configured server; without either, they fail with a message saying how to
// get one.
//
// Each call to NewDB creates a fresh database on the server and drops it when
// the test ends, so tests run in parallel and never depend on leftovers.
//
// # TestMain
//
// Packages using pgtest should call Main from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Main runs the tests and then stops and removes the throwaway cluster. A
// package that does not call it still cleans up: a watchdog process (the test
// binary itself, started by pgtest) removes the cluster as soon as the test
// binary exits, even when it panics or is killed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the variable holding the admin URL of the test server.
const EnvURL = "HDI_TEST_DATABASE_URL"

// AdminURL returns the admin URL of the test server: HDI_TEST_DATABASE_URL
// when set, else the throwaway local cluster of this test binary (started on
// first use). It fails the test when neither is available.
func AdminURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	u, err := localAdminURL()
	if err != nil {
		t.Fatalf("pgtest: %s is not set, and the throwaway local PostgreSQL cluster did not start: %v\n(or point %s at a PostgreSQL server the tests may create databases on)", EnvURL, err, EnvURL)
	}
	return u
}

// Main runs the tests of a package that uses pgtest, then the after hooks
// (a failing hook fails the package), then stops and removes the throwaway
// local cluster (if one was started), and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M, after ...func() error) {
	code := m.Run()
	for _, h := range after {
		if err := h(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
			code = 1
		}
	}
	if err := stopLocal(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// NewDB creates an empty database for this test and returns its URL. The
// database is dropped when the test ends.
func NewDB(t testing.TB) string {
	t.Helper()
	return newDBOn(t, AdminURL(t))
}

func newDBOn(t testing.TB, admin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	name := "hdi_test_" + randomSuffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDB(t, admin, name) })
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		t.Fatalf("pgtest: parse admin URL: %v", err)
	}
	return withDatabase(admin, cfg.Database, name)
}

func dropDB(t testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("pgtest: drop %s: connect: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// NewPool creates a fresh database and returns a pool connected to it.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Connect(t, NewDB(t))
}

// Connect opens a pool on url, closed when the test ends.
func Connect(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", url, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
