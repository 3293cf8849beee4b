package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/localpg"
)

// dbEnv is an environment with no database URL and hdi's data directory in
// a fresh temporary directory the postgres user can reach under root.
func dbEnv(t *testing.T) map[string]string {
	t.Helper()
	d := t.TempDir()
	if os.Geteuid() == 0 {
		for _, p := range []string{d, filepath.Dir(d)} {
			if err := os.Chmod(p, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	return map[string]string{
		"HOME":            d,
		"XDG_CONFIG_HOME": filepath.Join(d, "config"),
		"HDI_DATA_DIR":    filepath.Join(d, "data"),
	}
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func runDB(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := runWithEnv(args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, strings.NewReader(""), &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}

func (r cliResult) must(t *testing.T, wantCode int, stderrHas ...string) cliResult {
	t.Helper()
	if r.code != wantCode {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, wantCode, r.stdout, r.stderr)
	}
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	return r
}

func pingURL(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %q: %v", url, err)
	}
	defer conn.Close(ctx)
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	return db
}

func dbStatusJSON(t *testing.T, env map[string]string) dbStatus {
	t.Helper()
	r := runDB(t, env, "db", "status", "--format", "json").must(t, 0)
	var s dbStatus
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status json: %v\n%s", err, r.stdout)
	}
	return s
}

// TestDBLocalCluster drives the local cluster through `hdi db` end to end:
// status before creation, start (create), start (reuse), url (socket and
// TCP), stop, and url restarting it.
func TestDBLocalCluster(t *testing.T) {
	env := dbEnv(t)
	dataDir := env["HDI_DATA_DIR"]
	t.Cleanup(func() {
		if c, err := localpg.Open(localpg.Options{DataDir: dataDir}); err == nil {
			_ = c.Remove(context.Background())
		}
	})
	clusterDir := filepath.Join(dataDir, "postgres")

	r := runDB(t, env, "db", "status").must(t, 0)
	if !strings.Contains(r.stdout, "not created yet") || !strings.Contains(r.stdout, clusterDir) {
		t.Errorf("status before start:\n%s", r.stdout)
	}

	runDB(t, env, "db", "start").must(t, 0, "created and started", clusterDir)
	runDB(t, env, "db", "start").must(t, 0, "already running")

	// A command that finds the cluster running says nothing of it (the
	// start said so); at debug level it does.
	r = runDB(t, env, "db", "url").must(t, 0)
	if strings.Contains(r.stderr, "local PostgreSQL") {
		t.Errorf("the local-cluster notice is printed for a running cluster:\n%s", r.stderr)
	}
	runDB(t, env, "--log-level", "debug", "db", "url").must(t, 0, "using hdi's local PostgreSQL", clusterDir)
	url := strings.TrimSpace(r.stdout)
	if strings.Contains(r.stdout, "\n") && strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("url printed more than one line: %q", r.stdout)
	}
	if got := pingURL(t, url); got != "hdi" {
		t.Errorf("url connects to %q, want hdi", got)
	}

	r = runDB(t, env, "db", "url", "--tcp").must(t, 0)
	tcp := strings.TrimSpace(r.stdout)
	if !strings.Contains(tcp, "@127.0.0.1:") {
		t.Errorf("--tcp URL %q is not a loopback TCP URL", tcp)
	}
	if got := pingURL(t, tcp); got != "hdi" {
		t.Errorf("tcp url connects to %q, want hdi", got)
	}

	s := dbStatusJSON(t, env)
	if s.Mode != "local" || s.Local == nil || !s.Local.Running || !s.Local.Accepting || s.URL != url {
		t.Errorf("status when running: %+v", s)
	}
	r = runDB(t, env, "db", "status").must(t, 0)
	if !strings.Contains(r.stdout, "accepting connections") {
		t.Errorf("status text when running:\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("status wrote to stderr: %s", r.stderr)
	}

	runDB(t, env, "db", "stop").must(t, 0, "stopped the local PostgreSQL cluster")
	if s := dbStatusJSON(t, env); s.Local == nil || !s.Local.Created || s.Local.Running {
		t.Errorf("status after stop: %+v", s.Local)
	}
	runDB(t, env, "db", "stop").must(t, 0, "is not running")

	// Any command needing the database restarts it, and says so once: url
	// goes through databaseURL.
	r = runDB(t, env, "db", "url").must(t, 0, "using hdi's local PostgreSQL", clusterDir)
	if n := strings.Count(r.stderr, "using hdi's local PostgreSQL"); n != 1 {
		t.Errorf("the local-cluster notice appears %d times, want once:\n%s", n, r.stderr)
	}
	if strings.TrimSpace(r.stdout) != url {
		t.Errorf("url after restart = %q, want %q", r.stdout, url)
	}
	if got := pingURL(t, url); got != "hdi" {
		t.Errorf("after restart url connects to %q", got)
	}

	runDB(t, env, "db", "status", "--format", "yaml").must(t, exitUsage, "--format")
}

func TestDBExternalDatabase(t *testing.T) {
	env := dbEnv(t)
	const ext = "postgres://someone:s3cretpass@127.0.0.1:1/nowhere?connect_timeout=2"
	env["DATABASE_URL"] = ext

	for _, sub := range []string{"start", "stop"} {
		r := runDB(t, env, "db", sub).must(t, 0, "external database", "env DATABASE_URL", "does nothing")
		if r.stdout != "" {
			t.Errorf("db %s wrote to stdout: %q", sub, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(env["HDI_DATA_DIR"], "postgres")); !os.IsNotExist(err) {
		t.Errorf("db start with an external database touched the data directory (%v)", err)
	}

	s := dbStatusJSON(t, env)
	if s.Mode != "external" || s.Reachable == nil || *s.Reachable || s.Local != nil {
		t.Errorf("status with an unreachable external database: %+v", s)
	}
	if strings.Contains(s.URL, "s3cretpass") || strings.Contains(s.Error, "s3cretpass") {
		t.Errorf("status shows the password: %+v", s)
	}
	r := runDB(t, env, "db", "url").must(t, 0)
	if strings.TrimSpace(r.stdout) != ext {
		t.Errorf("url = %q, want the configured %q", r.stdout, ext)
	}
}
