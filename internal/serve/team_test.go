package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/serve"
)

// team is a database with the demo data, a jobs directory of file jobs
// (team-1d, team-1m, team-trades: the demo's DBN files, loaded again) and
// the tokens of a team: read, run and admin, plus the bootstrap token.
type team struct {
	url, jobs string
	db        *pgxpool.Pool
	env       *ops.Env
	tokens    map[string]string // caller -> token
}

const bootstrapToken = "bootstrap-secret-0123456789"

func newTeam(t *testing.T) *team {
	t.Helper()
	url := demoDB(t)
	files, jobs := t.TempDir(), t.TempDir()
	if out, err := hdi(url, "dbn", "synth", "--out", files).CombinedOutput(); err != nil {
		t.Fatalf("synth: %v\n%s", err, out)
	}
	for name, file := range map[string]string{"team-1d": "demo.ohlcv-1d.dbn.zst", "team-1m": "demo.ohlcv-1m.dbn.zst", "team-trades": "demo.trades.dbn.zst"} {
		job := fmt.Sprintf("name: %s\nprovider:\n  name: databento\nsource:\n  files: [%s]\n", name, filepath.Join(files, file))
		if err := os.WriteFile(filepath.Join(jobs, name+".yaml"), []byte(job), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tm := &team{url: url, jobs: jobs, db: pgtest.Connect(t, url), env: writeOps(t, url, jobs), tokens: map[string]string{"bootstrap": bootstrapToken, "bad": "hdi_not-a-token"}}
	for _, scope := range []string{"read", "run", "admin"} {
		secret, _, err := ops.CreateToken(t.Context(), tm.db, ops.NewToken{Name: scope + "-token", Scope: scope}, time.Now(), ops.Flags)
		if err != nil {
			t.Fatal(err)
		}
		tm.tokens[scope] = secret
	}
	return tm
}

// server serves the team's database with its jobs, the bootstrap token and
// opts' limits.
func (tm *team) server(t *testing.T, opts serve.Options) *testServer {
	t.Helper()
	opts.Ops, opts.BootstrapTokens = tm.env, []string{bootstrapToken}
	return newServer(t, tm.url, opts)
}

// send makes a request with the caller's token (none for "none") and a
// JSON body (nil: none).
func (ts *testServer) send(t *testing.T, method, path, token string, body any, header ...string) response {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
		header = append(header, "Content-Type", "application/json")
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return response{res.StatusCode, res.Header, buf.Bytes()}
}

// queueRun queues a run of job in-process (as hdi ingest --queue) and
// returns its id.
func (tm *team) queueRun(t *testing.T, job string) int64 {
	t.Helper()
	j, err := tm.env.NamedJob(job, ops.Flags)
	if err == nil {
		err = ops.Overrides{}.Apply(j, time.Now())
	}
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tm.env.Queue(t.Context(), j, queue.Options{Force: true}, ops.Flags)
	if err != nil || sub.RunID == 0 {
		t.Fatalf("queue %s: %+v %v", job, sub, err)
	}
	return sub.RunID
}

func (tm *team) cancel(t *testing.T, run int64) {
	t.Helper()
	if _, err := queue.Cancel(context.WithoutCancel(t.Context()), tm.env.Pool, run); err != nil {
		t.Fatal(err)
	}
}

// auditRow is the audit log's row of a request (by its request id).
func (tm *team) auditRow(t *testing.T, requestID string) (dbq.AuditLog, bool) {
	t.Helper()
	rows, err := dbq.New(tm.db).AuditLog(t.Context(), dbq.AuditLogParams{RowLimit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var found []dbq.AuditLog
	for _, r := range rows {
		if r.RequestID == requestID {
			found = append(found, r)
		}
	}
	if len(found) > 1 {
		t.Fatalf("request %s has %d audit rows", requestID, len(found))
	}
	if len(found) == 0 {
		return dbq.AuditLog{}, false
	}
	return found[0], true
}

// TestScopes walks every route with every caller: none, a token hdi does
// not know, read, run, admin and bootstrap. Without an accepted token it is
// 401, with too small a scope 403, else 2xx. Every write request and every
// 401 and 403 is one audit row naming the token, the route and the status
// (and the run); a read that passes is none.
func TestScopes(t *testing.T) {
	tm := newTeam(t)
	ts := tm.server(t, serve.Options{})
	first := pgtest.Scalar[int64](t, tm.db, "SELECT min(run_id) FROM runs")
	type route struct {
		method, pattern string
		need            string
		// req gives the path and body of a request the caller may make
		// (prepares what it needs, e.g. a run to cancel).
		req func(t *testing.T, caller string) (string, any)
	}
	routes := []route{
		{"GET", "/api/v1/runs", "read", func(*testing.T, string) (string, any) { return "/api/v1/runs", nil }},
		{"GET", "/api/v1/bars", "read", func(*testing.T, string) (string, any) {
			return "/api/v1/bars?symbols=ES.c.0&start=2024-03-11&end=2024-03-15", nil
		}},
		{"GET", "/metrics", "read", func(*testing.T, string) (string, any) { return "/metrics", nil }},
		{"GET", "/openapi.json", "read", func(*testing.T, string) (string, any) { return "/openapi.json", nil }},
		{"GET", "/api/v1/whoami", "read", func(*testing.T, string) (string, any) { return "/api/v1/whoami", nil }},
		{"POST", "/api/v1/runs", "run", func(*testing.T, string) (string, any) {
			return "/api/v1/runs", map[string]any{"job": "team-1d", "force": true}
		}},
		{"POST", "/api/v1/runs/{id}/cancel", "run", func(t *testing.T, caller string) (string, any) {
			id := int64(999999)
			if caller == "run" || caller == "admin" || caller == "bootstrap" {
				id = tm.queueRun(t, "team-1m")
			}
			return fmt.Sprintf("/api/v1/runs/%d/cancel", id), nil
		}},
		{"POST", "/api/v1/quarantine/{run}/retry", "run", func(*testing.T, string) (string, any) {
			return fmt.Sprintf("/api/v1/quarantine/%d/retry", first), nil
		}},
		{"GET", "/api/v1/audit", "admin", func(*testing.T, string) (string, any) { return "/api/v1/audit?since=-1d", nil }},
		{"GET", "/api/v1/tokens", "admin", func(*testing.T, string) (string, any) { return "/api/v1/tokens", nil }},
		{"POST", "/api/v1/tokens", "admin", func(_ *testing.T, caller string) (string, any) {
			return "/api/v1/tokens", map[string]string{"name": "made-by-" + caller, "scope": "read", "expires": "90d"}
		}},
		{"POST", "/api/v1/tokens/{name}/revoke", "admin", func(t *testing.T, caller string) (string, any) {
			name := "to-revoke-by-" + caller
			if _, _, err := ops.CreateToken(t.Context(), tm.db, ops.NewToken{Name: name, Scope: "read"}, time.Now(), ops.Flags); err != nil {
				t.Fatal(err)
			}
			return "/api/v1/tokens/" + name + "/revoke", nil
		}},
	}
	rank := map[string]int{"none": 0, "bad": 0, "read": 1, "run": 2, "admin": 3, "bootstrap": 3}
	names := map[string]string{"read": "read-token", "run": "run-token", "admin": "admin-token", "bootstrap": "bootstrap"}
	for _, rt := range routes {
		for _, caller := range []string{"none", "bad", "read", "run", "admin", "bootstrap"} {
			path, body := rt.req(t, caller)
			res := ts.send(t, rt.method, path, tm.tokens[caller], body)
			want := "2xx"
			switch {
			case rank[caller] == 0:
				want = "401"
			case rank[caller] < rank[rt.need]:
				want = "403"
			}
			got := fmt.Sprint(res.status)
			if res.status >= 200 && res.status < 300 {
				got = "2xx"
			}
			if got != want {
				t.Errorf("%s %s as %s: %d, want %s: %s", rt.method, path, caller, res.status, want, res.body)
				continue
			}
			if want != "2xx" && res.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s as %s: %d is not problem+json", rt.method, path, caller, res.status)
			}
			if want == "401" && res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: 401 without WWW-Authenticate", rt.method, path, caller)
			}
			row, audited := tm.auditRow(t, res.header.Get("X-Request-Id"))
			if wantRow := rt.method == "POST" || want != "2xx"; audited != wantRow {
				t.Errorf("%s %s as %s (%d): audited %v, want %v", rt.method, path, caller, res.status, audited, wantRow)
				continue
			}
			if !audited {
				continue
			}
			name := ""
			if row.TokenName != nil {
				name = *row.TokenName
			}
			if name != names[caller] || row.Method != rt.method || row.Route != rt.pattern || int(row.Status) != res.status || row.RemoteAddr != "127.0.0.1" || row.Outcome == "" {
				t.Errorf("%s %s as %s: audit row %+v (token %q)", rt.method, path, caller, row, name)
			}
			if want == "2xx" && strings.Contains(rt.pattern, "runs") && row.RunID == nil && res.status == http.StatusAccepted {
				t.Errorf("%s %s as %s: the audit row names no run: %+v", rt.method, path, caller, row)
			}
		}
	}
	// The bootstrap token and the team's never reach the log; names do.
	logs := ts.log.String()
	for caller, tok := range tm.tokens {
		if strings.Contains(logs, tok) {
			t.Errorf("the %s token is in the log", caller)
		}
	}
	if !strings.Contains(logs, "token=run-token") {
		t.Errorf("the log does not name the tokens:\n%.2000s", logs)
	}
}

// TestRevokedAndExpired: a revoked token and an expired one are refused
// (401), within the token cache's time, and the audit log names them.
func TestRevokedAndExpired(t *testing.T) {
	tm := newTeam(t)
	ts := tm.server(t, serve.Options{TokenCache: 200 * time.Millisecond})
	for _, c := range []struct {
		name, why string
		end       func(t *testing.T, name string)
	}{
		{"to-revoke", "revoked", func(t *testing.T, name string) {
			if _, err := ops.RevokeToken(t.Context(), tm.db, name, time.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"to-expire", "expired", func(t *testing.T, name string) {
			if _, err := tm.db.Exec(t.Context(), "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = $1", name); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		secret, _, err := ops.CreateToken(t.Context(), tm.db, ops.NewToken{Name: c.name, Scope: "run", Expires: "1h"}, time.Now(), ops.Flags)
		if err != nil {
			t.Fatal(err)
		}
		if res := ts.send(t, "GET", "/api/v1/runs", secret, nil); res.status != http.StatusOK {
			t.Fatalf("%s before: %d %s", c.name, res.status, res.body)
		}
		c.end(t, c.name)
		var res response
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if res = ts.send(t, "GET", "/api/v1/runs", secret, nil); res.status != http.StatusOK {
				break
			}
		}
		var p struct{ Detail string }
		_ = json.Unmarshal(res.body, &p)
		if res.status != http.StatusUnauthorized || !strings.Contains(p.Detail, c.why) {
			t.Fatalf("%s: %d %s, want 401 saying %s", c.name, res.status, res.body, c.why)
		}
		row, ok := tm.auditRow(t, res.header.Get("X-Request-Id"))
		if !ok || row.TokenName == nil || *row.TokenName != c.name || row.Status != 401 || !strings.Contains(row.Outcome, c.why) {
			t.Errorf("%s: audit row %+v (%v)", c.name, row, ok)
		}
	}
	// The log is append-only, whoever asks.
	for _, stmt := range []string{"UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"} {
		if _, err := tm.db.Exec(t.Context(), stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
	// Only digests are kept.
	for _, scope := range []string{"read", "run", "admin"} {
		tok := tm.tokens[scope]
		if n := pgtest.Scalar[int64](t, tm.db, "SELECT count(*) FROM api_tokens t WHERE strpos(t::text, $1) > 0", tok); n != 0 {
			t.Errorf("the %s token is stored as it is", scope)
		}
		if !pgtest.Scalar[bool](t, tm.db, "SELECT token_hash = sha256(convert_to($1, 'UTF8')) FROM api_tokens WHERE name = $2", tok, scope+"-token") {
			t.Errorf("the %s token's row does not hold its SHA-256", scope)
		}
	}
}

// TestWriteRequests: POSTs are checked as strictly as the command line,
// naming the field; a repeated Idempotency-Key gets the first run, not a
// second; a body too large is 413.
func TestWriteRequests(t *testing.T) {
	tm := newTeam(t)
	ts := tm.server(t, serve.Options{})
	run := tm.tokens["run"]
	for _, c := range []struct {
		body   any
		ct     string
		status int
		loc    string
		detail string
	}{
		{map[string]any{"job": "no-such-job"}, "", 400, "body.job", `no job "no-such-job"`},
		{map[string]any{"job": "../team-1d.yaml"}, "", 400, "body.job", "no job"},
		{map[string]any{"start": "2024-03-11"}, "", 400, "body.job", "job: is required"},
		{map[string]any{"job": "team-1d", "start": "2024-13-01"}, "", 400, "body.start", `start: "2024-13-01" is not a real date`},
		{map[string]any{"job": "team-1d", "queue": "no queue!"}, "", 400, "body.queue", `queue "no queue!" is not a queue name`},
		{map[string]any{"job": "team-1d", "sybmols": []string{"x"}}, "", 400, "body.sybmols", "unknown field (this endpoint takes job, start, end, symbols, force, queue)"},
		{map[string]any{"job": "team-1d", "force": "yes"}, "", 400, "body.force", "force: want true or false"},
		{[]byte(`{"job": "team-1d"} {}`), "application/json", 400, "", "one JSON object"},
		{[]byte(`job=team-1d`), "application/x-www-form-urlencoded", 415, "", "Content-Type: application/json"},
		{[]byte(`{"job": "` + strings.Repeat("x", serve.MaxBody) + `"}`), "application/json", 413, "", "larger than"},
	} {
		var header []string
		if c.ct != "" {
			header = []string{"Content-Type", c.ct}
		}
		res := ts.send(t, "POST", "/api/v1/runs", run, c.body, header...)
		var p struct {
			Detail string
			Errors []struct{ Location string }
		}
		if err := json.Unmarshal(res.body, &p); err != nil || res.status != c.status || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%.80v: %d %s, want %d with %q", c.body, res.status, res.body, c.status, c.detail)
			continue
		}
		if loc := ""; c.loc != "" {
			if len(p.Errors) > 0 {
				loc = p.Errors[0].Location
			}
			if loc != c.loc {
				t.Errorf("%.80v: location %q, want %q", c.body, loc, c.loc)
			}
		}
		if _, ok := tm.auditRow(t, res.header.Get("X-Request-Id")); !ok {
			t.Errorf("%.80v: refused write not audited", c.body)
		}
	}
	if res := ts.send(t, "POST", "/api/v1/runs/abc/cancel", run, nil); res.status != 400 {
		t.Errorf("cancel abc: %d %s", res.status, res.body)
	}
	if res := ts.send(t, "POST", "/api/v1/runs/999999/cancel", run, nil); res.status != 404 {
		t.Errorf("cancel 999999: %d %s", res.status, res.body)
	}

	// The same key twice: one run, the first answer replayed.
	runs := func() int64 {
		return pgtest.Scalar[int64](t, tm.db, "SELECT count(*) FROM runs WHERE job = 'team-trades'")
	}
	body := map[string]any{"job": "team-trades", "force": true}
	a := ts.send(t, "POST", "/api/v1/runs", run, body, "Idempotency-Key", "key-1")
	b := ts.send(t, "POST", "/api/v1/runs", run, body, "Idempotency-Key", "key-1")
	var ra, rb struct {
		RunID int64  `json:"run_id"`
		URL   string `json:"url"`
	}
	_ = json.Unmarshal(a.body, &ra)
	_ = json.Unmarshal(b.body, &rb)
	if a.status != 202 || b.status != 202 || ra.RunID == 0 || rb.RunID != ra.RunID || a.header.Get("Location") != ra.URL ||
		b.header.Get("Location") != ra.URL || b.header.Get("Idempotent-Replayed") != "true" || runs() != 1 {
		t.Fatalf("idempotent POST: %d %s / %d %s (replayed %q), %d runs", a.status, a.body, b.status, b.body, b.header.Get("Idempotent-Replayed"), runs())
	}
	if row, ok := tm.auditRow(t, b.header.Get("X-Request-Id")); !ok || row.RunID == nil || *row.RunID != ra.RunID || !strings.Contains(row.Outcome, "replayed") {
		t.Errorf("the replay's audit row: %+v %v", row, ok)
	}
	// The key with another request, or another token's same key.
	if c := ts.send(t, "POST", "/api/v1/runs", run, map[string]any{"job": "team-1d"}, "Idempotency-Key", "key-1"); c.status != 422 {
		t.Errorf("a key reused for another request: %d %s", c.status, c.body)
	}
	tm.cancel(t, ra.RunID)
	if c := ts.send(t, "POST", "/api/v1/runs", tm.tokens["admin"], body, "Idempotency-Key", "key-1"); c.status != 202 || runs() != 2 {
		t.Errorf("another token's key-1: %d %s, %d runs", c.status, c.body, runs())
	}
	// A failed first request leaves its key free.
	bad := map[string]any{"job": "team-1d", "end": "2024-02-30"}
	if c := ts.send(t, "POST", "/api/v1/runs", run, bad, "Idempotency-Key", "key-2"); c.status != 400 {
		t.Errorf("a bad request with a key: %d %s", c.status, c.body)
	}
	if c := ts.send(t, "POST", "/api/v1/runs", run, bad, "Idempotency-Key", "key-2"); c.status != 400 || c.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("its repeat: %d %s", c.status, c.body)
	}
}

// TestRunOverHTTP: the scheduler's run token queues a run over HTTP, a
// real worker process loads it, and the run's URL says so; the read
// token cannot start one; hdi audit list shows who did what.
func TestRunOverHTTP(t *testing.T) {
	tm := newTeam(t)
	ts := tm.server(t, serve.Options{})
	if res := ts.send(t, "POST", "/api/v1/runs", tm.tokens["read"], map[string]any{"job": "team-trades", "force": true}); res.status != http.StatusForbidden {
		t.Fatalf("the read token started a run: %d %s", res.status, res.body)
	}
	res := ts.send(t, "POST", "/api/v1/runs", tm.tokens["run"], map[string]any{"job": "team-trades", "force": true})
	var q struct {
		RunID int64  `json:"run_id"`
		URL   string `json:"url"`
		Units int    `json:"units"`
	}
	if err := json.Unmarshal(res.body, &q); err != nil || res.status != http.StatusAccepted || q.Units == 0 || q.URL != fmt.Sprintf("/api/v1/runs/%d", q.RunID) {
		t.Fatalf("queue: %d %s", res.status, res.body)
	}
	w := hdi(tm.url, "worker", "--concurrency", "2")
	var out bytes.Buffer
	w.Stdout, w.Stderr = &out, &out
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := sync.OnceFunc(func() {
		_ = w.Process.Signal(syscall.SIGTERM)
		_ = w.Wait()
	})
	t.Cleanup(stopped)
	var run struct {
		Run struct {
			Status       string
			RowsInserted int64 `json:"rows_inserted"`
			UnitsDone    int   `json:"units_done"`
		}
		Progress struct{ Done, Units int }
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		r := ts.send(t, "GET", q.URL, tm.tokens["read"], nil)
		if err := json.Unmarshal(r.body, &run); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", q.URL, r.status, r.body)
		}
		if run.Run.Status != "queued" && run.Run.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d still %s after 2 minutes; worker:\n%s", q.RunID, run.Run.Status, out.String())
		}
	}
	stopped()
	if run.Run.Status != "succeeded" || run.Progress.Done != q.Units || run.Run.UnitsDone == 0 {
		t.Fatalf("run %d: %+v\nworker:\n%s", q.RunID, run, out.String())
	}
	b, err := hdi(tm.url, "audit", "list", "--token", "run-token").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "POST") || !strings.Contains(string(b), fmt.Sprint(q.RunID)) || !strings.Contains(string(b), "/api/v1/runs") {
		t.Fatalf("hdi audit list --token run-token: %v\n%s", err, b)
	}
	b, err = hdi(tm.url, "audit", "list", "--token", "read-token", "--format", "json").Output()
	var rows []dbq.AuditLog
	if err != nil || json.Unmarshal(b, &rows) != nil || len(rows) != 1 || rows[0].Status != 403 {
		t.Fatalf("hdi audit list --token read-token: %v\n%s", err, b)
	}
}

// TestLimits: a token's burst past its rate is 429 with Retry-After;
// refused authentications past the address's rate are 429 too, and not
// recorded; a token with its queries under way is 429 for one more.
func TestLimits(t *testing.T) {
	tm := newTeam(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "slow.sql"), []byte("-- name: Slow :many\nSELECT 1 AS one FROM pg_sleep(@seconds::float8);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, tm.url, serve.Options{TokenRate: 5, AddressRate: 2, Ops: tm.env})

	// A bounded burst: the first 10 (twice the rate) pass.
	var codes []int
	for range 60 {
		codes = append(codes, ts.send(t, "GET", "/api/v1/whoami", tm.tokens["read"], nil).status)
	}
	limited := ts.send(t, "GET", "/api/v1/whoami", tm.tokens["read"], nil)
	if fmt.Sprint(codes[:10]) != fmt.Sprint([]int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}) || limited.status != http.StatusTooManyRequests ||
		limited.header.Get("Retry-After") == "" || limited.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a burst of 61: %v, then %d %v %s", codes, limited.status, limited.header, limited.body)
	}
	// Another token is not held back by it.
	if res := ts.send(t, "GET", "/api/v1/whoami", tm.tokens["run"], nil); res.status != http.StatusOK {
		t.Errorf("another token: %d %s", res.status, res.body)
	}

	// Refused authentications: 4 (twice the address's rate) are 401 and
	// recorded, then 429, not recorded.
	before := pgtest.Scalar[int64](t, tm.db, "SELECT count(*) FROM audit_log")
	var refused []int
	for range 20 {
		refused = append(refused, ts.send(t, "GET", "/api/v1/runs", "hdi_wrong", nil).status)
	}
	after := pgtest.Scalar[int64](t, tm.db, "SELECT count(*) FROM audit_log")
	n401 := int64(strings.Count(fmt.Sprint(refused), "401"))
	if fmt.Sprint(refused[:4]) != "[401 401 401 401]" || refused[len(refused)-1] != 429 || after-before != n401 {
		t.Fatalf("refused authentications: %v, %d audit rows", refused, after-before)
	}

	// One query at a time per token: a second while one runs is 429.
	ts = newServer(t, tm.url, serve.Options{TokenQueries: 1, Ops: tm.env}, dir)
	done := make(chan response)
	go func() { done <- ts.send(t, "GET", "/api/v1/queries/Slow?seconds=3", tm.tokens["admin"], nil) }()
	for deadline := time.Now().Add(10 * time.Second); pgtest.Scalar[int64](t, tm.db,
		"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slow query never ran")
		}
	}
	second := ts.send(t, "GET", "/api/v1/runs", tm.tokens["admin"], nil)
	if first := <-done; first.status != 200 || second.status != http.StatusTooManyRequests || !strings.Contains(string(second.body), "under way") {
		t.Fatalf("concurrent queries: first %d, second %d %s", first.status, second.status, second.body)
	}
}
