package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/serve"
)

// problemBody is a problem+json answer as a client reads it.
type problemBody struct {
	Status    int
	Detail    string
	RequestID string `json:"request_id"`
	Errors    []struct{ Location string }
}

// problemOf checks that res is a problem+json answer with status, that
// carries its request id in the body and the X-Request-Id header and says
// nothing of PostgreSQL's own words.
func problemOf(t *testing.T, path string, res response, status int) (problemBody, bool) {
	t.Helper()
	var p problemBody
	if err := json.Unmarshal(res.body, &p); err != nil || res.status != status || res.header.Get("Content-Type") != "application/problem+json" || p.Status != status {
		t.Errorf("%s: %d %s %s (want %d problem+json)", path, res.status, res.header.Get("Content-Type"), res.body, status)
		return p, false
	}
	if id := res.header.Get("X-Request-Id"); id == "" || p.RequestID != id {
		t.Errorf("%s: request id %q in the body, %q in X-Request-Id", path, p.RequestID, id)
	}
	for _, pg := range []string{"SQLSTATE", "FATAL", "ERROR:", "does not exist", "terminating connection", "canceling statement", "hdi_test_"} {
		if strings.Contains(string(res.body), pg) {
			t.Errorf("%s: the body shows PostgreSQL's words %q: %s", path, pg, res.body)
		}
	}
	return p, true
}

// withAppName sets the application_name of a connection string, so the
// test can find the server's own backends.
func withAppName(t *testing.T, url, name string) string {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// terminate ends every backend of application name on the server, as an
// administrator's pg_terminate_backend does, and waits until they are gone.
func terminate(t *testing.T, name string) {
	t.Helper()
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n); err != nil || n == 0 {
		t.Fatalf("terminate the server's backends: %d terminated, %v", n, err)
	}
	for {
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server's backends outlive pg_terminate_backend")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// testDatabaseFaults: what a client gets when the database fails under a
// running server. Its connections cut by an administrator: the request
// succeeds, retried once on a live connection (all the API does is read,
// and nothing was sent yet). Its database dropped: 503 with Retry-After.
// A statement past the statement timeout: 504. Never PostgreSQL's text.
func testDatabaseFaults(t *testing.T, url string) {
	const app = "hdi-serve-faults"
	routes := []string{
		"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22",
		"/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-22&adjust=ratio",
		"/api/v1/trades?symbols=ESH4&start=2024-03-14&end=2024-03-14&limit=5",
		"/api/v1/symbols/resolve?symbols=ES.c.0&start=2024-03-14&end=2024-03-15",
		"/api/v1/coverage?table=trades",
		"/api/v1/queries/Runs",
		"/api/v1/runs",
		"/api/v1/runs/1",
		"/healthz",
	}
	t.Run("connections terminated", func(t *testing.T) {
		ts := newServer(t, withAppName(t, url, app), serve.Options{})
		for _, path := range routes {
			if res := ts.fetch(t, path); res.status != http.StatusOK {
				t.Fatalf("%s before: %d %s", path, res.status, res.body)
			}
			terminate(t, app)
			if res := ts.fetch(t, path); res.status != http.StatusOK {
				t.Errorf("%s after its connections were terminated: %d %s (want 200: retried on a live connection)", path, res.status, res.body)
			}
		}
		// Each found a dead connection (unless the pool's own ping, after a
		// second idle, had dropped it first).
		if n := strings.Count(ts.log.String(), "trying once more"); n == 0 {
			t.Errorf("no request met a dead connection: the test tested nothing\n%s", ts.log.String())
		} else {
			t.Logf("%d of %d requests retried", n, len(routes))
		}
	})

	t.Run("database dropped", func(t *testing.T) {
		db := pgtest.NewMigratedDB(t)
		ts := newServer(t, db, serve.Options{})
		if res := ts.fetch(t, "/api/v1/runs"); res.status != http.StatusOK {
			t.Fatalf("before: %d %s", res.status, res.body)
		}
		admin, err := pgx.Connect(t.Context(), pgtest.AdminURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(context.Background())
		u, _ := neturl.Parse(db)
		if _, err := admin.Exec(t.Context(), "DROP DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
		for _, path := range routes {
			res := ts.fetch(t, path)
			if path == "/healthz" {
				if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" || strings.Contains(string(res.body), "does not exist") {
					t.Errorf("%s: %d Retry-After %q %s", path, res.status, res.header.Get("Retry-After"), res.body)
				}
				continue
			}
			p, ok := problemOf(t, path, res, http.StatusServiceUnavailable)
			if !ok {
				continue
			}
			if res.header.Get("Retry-After") == "" || !strings.Contains(p.Detail, "unavailable") || !strings.Contains(p.Detail, p.RequestID) {
				t.Errorf("%s: Retry-After %q, detail %q", path, res.header.Get("Retry-After"), p.Detail)
			}
		}
		if log := ts.log.String(); !strings.Contains(log, "does not exist") || !strings.Contains(log, "request_id=") {
			t.Errorf("the log lacks the cause with its request id:\n%s", log)
		}
	})

	t.Run("statement timeout", func(t *testing.T) {
		dir := t.TempDir()
		slow := "-- name: Slow :many\nSELECT 1 AS one FROM pg_sleep(@seconds::float8);\n"
		if err := os.WriteFile(filepath.Join(dir, "slow.sql"), []byte(slow), 0o644); err != nil {
			t.Fatal(err)
		}
		pool, err := serve.OpenPool(t.Context(), url, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		ts := serveWith(t, pool, serve.Options{}, dir)
		if res := ts.fetch(t, "/api/v1/queries/Slow?seconds=0"); res.status != http.StatusOK {
			t.Fatalf("a quick one: %d %s", res.status, res.body)
		}
		path := "/api/v1/queries/Slow?seconds=60"
		if p, ok := problemOf(t, path, ts.fetch(t, path), http.StatusGatewayTimeout); ok && !strings.Contains(p.Detail, "statement timeout") {
			t.Errorf("%s: detail %q", path, p.Detail)
		}
	})
}

// testControlCharacters: a NUL, another control character or bytes that
// are not UTF-8, in any parameter of any route, is a 400 that names the
// parameter, before anything reaches the database.
func testControlCharacters(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	routes := map[string]string{
		"/api/v1/bars":            "symbols=ES.c.0&start=2024-03-11&end=2024-03-22&dataset=GLBX.MDP3&interval=1d&adjust=none",
		"/api/v1/trades":          "symbols=ESH4&start=2024-03-14&end=2024-03-14&dataset=GLBX.MDP3",
		"/api/v1/tbbo":            "symbols=ESH4&start=2024-03-14&end=2024-03-14&dataset=GLBX.MDP3",
		"/api/v1/statistics":      "symbols=ESH4&start=2024-03-14&end=2024-03-14&dataset=GLBX.MDP3&stat=all&daily=false",
		"/api/v1/definitions":     "symbols=ESH4&start=2024-03-14&end=2024-03-14&dataset=GLBX.MDP3",
		"/api/v1/symbols/resolve": "symbols=ES.c.0&start=2024-03-14&end=2024-03-15&dataset=GLBX.MDP3",
		"/api/v1/coverage":        "start=2024-03-14&end=2024-03-15&table=trades&dataset=GLBX.MDP3",
		"/api/v1/runs":            "job=x&limit=3",
	}
	var queries []struct {
		Path   string
		Params []struct{ Name, Type string }
	}
	if err := json.Unmarshal(ts.mustGet(t, "/api/v1/queries"), &queries); err != nil || len(queries) < 40 {
		t.Fatalf("queries: %d %v", len(queries), err)
	}
	for _, q := range queries { // a good value of each type: the bad byte is the only fault
		var ps []string
		for _, p := range q.Params {
			v := "ESH4"
			switch {
			case strings.HasPrefix(p.Type, "timestamp") || p.Type == "date":
				v = "2024-03-14"
			case strings.HasPrefix(p.Type, "int") || p.Type == "bigint" || p.Type == "smallint" || p.Type == "numeric" || strings.HasPrefix(p.Type, "float") || p.Type == "double precision":
				v = "12"
			case p.Type == "boolean" || p.Type == "bool":
				v = "true"
			}
			ps = append(ps, p.Name+"="+v)
		}
		routes[q.Path] = strings.Join(ps, "&")
	}
	bad := map[string]string{"NUL": "%00", "BEL": "%07", "ESC": "%1B", "DEL": "%7F", "NEL (C1)": "%C2%85", "newline": "%0A", "0xFF": "%FF", "truncated UTF-8": "%C3"}
	n := 0
	for route, query := range routes {
		params := strings.Split(query+"&format=json&limit=5&tz=UTC&raw=false", "&")
		if route == "/api/v1/runs" {
			params = strings.Split(query, "&")
		}
		for i, kv := range params {
			if kv == "" {
				continue
			}
			name, value, _ := strings.Cut(kv, "=")
			for what, b := range bad {
				ps := append([]string{}, params...)
				ps[i] = name + "=" + value[:len(value)/2] + b + value[len(value)/2:]
				path := route + "?" + strings.Join(ps, "&")
				n++
				p, ok := problemOf(t, path, ts.fetch(t, path), http.StatusBadRequest)
				if !ok {
					continue
				}
				if !strings.HasPrefix(p.Detail, name+": ") || len(p.Errors) == 0 || p.Errors[0].Location != "query."+name {
					t.Errorf("%s (%s in %s): detail %q, errors %+v", path, what, name, p.Detail, p.Errors)
				}
			}
		}
	}
	// The name of a parameter, too.
	path := "/api/v1/queries/Runs?li%00mit=3"
	if p, ok := problemOf(t, path, ts.fetch(t, path), http.StatusBadRequest); ok && !strings.Contains(p.Detail, "control character") {
		t.Errorf("%s: detail %q", path, p.Detail)
	}
	t.Logf("%d requests with a bad byte, every one refused", n)
}

// testUnknownPaths: the page's files are served by name only (no
// directory listing), and any unknown path, under the API or the page, is a
// problem+json 404.
func testUnknownPaths(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	for _, path := range []string{"/vendor/", "/vendor", "/vendor/nope.js", "/nope.html", "/api/v1/nope", "/api/", "/app.js/", "/vendor/../app.js/"} {
		if p, ok := problemOf(t, path, ts.fetch(t, path), http.StatusNotFound); ok && !strings.Contains(p.Detail, path) {
			t.Errorf("%s: detail %q does not name the path", path, p.Detail)
		}
	}
	for path, ct := range map[string]string{
		"/":           "text/html; charset=utf-8",
		"/index.html": "text/html; charset=utf-8",
		"/app.js":     "text/javascript; charset=utf-8",
		"/style.css":  "text/css; charset=utf-8",
		"/vendor/lightweight-charts.standalone.production.js": "text/javascript; charset=utf-8",
	} {
		res := ts.fetch(t, path)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != ct || len(res.body) < 100 || res.header.Get("Content-Security-Policy") == "" || res.header.Get("X-Request-Id") == "" {
			t.Errorf("%s: %d %s, %d bytes, headers %v", path, res.status, res.header.Get("Content-Type"), len(res.body), res.header)
		}
	}
}
