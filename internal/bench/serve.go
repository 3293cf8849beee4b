package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hdi-dev/hdi/internal/query"
	sqlfiles "github.com/hdi-dev/hdi/sql"
)

// ServeConfig is the load benchmark of `hdi serve`: Clients concurrent
// clients for Duration on one endpoint (hey), against pgbench running the
// endpoint's SQL with as many clients.
type ServeConfig struct {
	AdminURL, BinDir, WorkDir string
	Clients                   int
	Duration                  time.Duration
	Log                       io.Writer
}

// LoadResult is one load run's figures.
type LoadResult struct {
	Requests int
	Failed   int
	PerSec   float64
	P50, P99 time.Duration
}

// ServeResult holds the API's and the database's figures.
type ServeResult struct {
	Path     string
	Rows     int
	API, SQL LoadResult
}

// The request: one day of one-minute bars of ES.c.0 from the demo data.
const (
	servePath = "/api/v1/bars?symbols=ES.c.0&interval=1m&start=2024-03-14&end=2024-03-14&format=json"
	serveDay  = "2024-03-14"
)

// RunServe loads the demo data into a fresh database, starts `hdi serve`,
// drives it with hey, then drives the database with pgbench running the
// same query (SymbolBars1m with the request's values).
func RunServe(ctx context.Context, cfg ServeConfig) (*ServeResult, error) {
	log := Config{Log: cfg.Log}
	if cfg.Log == nil {
		log.Log = io.Discard
	}
	if _, err := exec.LookPath("hey"); err != nil {
		return nil, errors.New("bench-serve needs hey (apt-get install hey)")
	}
	if pgbenchPath() == "" {
		return nil, errors.New("bench-serve needs pgbench (it comes with the PostgreSQL server package)")
	}
	var res *ServeResult
	_, err := withDB(ctx, WorkersConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir}, "serve", func(h *hdiEnv) (time.Duration, error) {
		demo := filepath.Join(cfg.WorkDir, "demo")
		if err := h.run("dbn", "synth", "--out", demo); err != nil {
			return 0, err
		}
		if err := h.run("ingest", "--provider", "databento", "--file", demo); err != nil {
			return 0, err
		}
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		srv := command(ctx, h.env, h.hdi, "serve", "--addr", "127.0.0.1:"+strconv.Itoa(port))
		if err := srv.Start(); err != nil {
			return 0, err
		}
		defer func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() }()
		if err := waitHealthy(base); err != nil {
			return 0, err
		}
		res = &ServeResult{Path: servePath}
		if res.Rows, err = countRows(base + servePath); err != nil {
			return 0, err
		}
		log.logf("hey: %d clients for %s on %s (%d rows a response)", cfg.Clients, cfg.Duration, servePath, res.Rows)
		if res.API, err = runHey(ctx, cfg, base+servePath); err != nil {
			return 0, err
		}
		script, err := barsSQL(cfg.WorkDir)
		if err != nil {
			return 0, err
		}
		log.logf("pgbench: %d clients for %s on the same SQL", cfg.Clients, cfg.Duration)
		res.SQL, err = runPgbench(ctx, cfg, h.url, script)
		return 0, err
	})
	return res, err
}

func mustRead(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(base string) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("hdi serve did not become healthy at %s", base)
}

// countRows is the number of rows one response holds (JSON: one object a
// line after the first).
func countRows(url string) (int, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d %v %.200s", url, res.StatusCode, err, b)
	}
	return strings.Count(string(b), "\n{"), nil
}

// runHey drives url and reads hey's per-request CSV (response-time in
// seconds, status code).
func runHey(ctx context.Context, cfg ServeConfig, url string) (LoadResult, error) {
	c := exec.CommandContext(ctx, "hey", "-c", strconv.Itoa(cfg.Clients), "-z", cfg.Duration.String(), "-o", "csv", url)
	out, err := c.Output()
	if err != nil {
		return LoadResult{}, fmt.Errorf("hey: %w", err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) < 2 {
		return LoadResult{}, fmt.Errorf("hey's CSV: %v (%d lines)", err, len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var lat []time.Duration
	r := LoadResult{}
	for _, rec := range recs[1:] {
		if rec[col["status-code"]] != "200" {
			r.Failed++
			continue
		}
		s, _ := strconv.ParseFloat(rec[col["response-time"]], 64)
		lat = append(lat, time.Duration(s*float64(time.Second)))
	}
	return summarize(r, lat, cfg.Duration), nil
}

// barsSQL writes SymbolBars1m with the request's values spelled out, as a
// pgbench script.
func barsSQL(dir string) (string, error) {
	cat, err := query.Load(sqlfiles.Queries, "")
	if err != nil {
		return "", err
	}
	q, err := cat.Lookup("SymbolBars1m", "")
	if err != nil {
		return "", err
	}
	var lines []string
	for _, l := range strings.Split(q.SQL, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	sql := strings.Join(lines, " ")
	day, _ := time.Parse(time.DateOnly, serveDay)
	next := day.AddDate(0, 0, 1).Format(time.DateOnly)
	for k, v := range map[string]string{
		"@dataset": "'GLBX.MDP3'", "@symbols": "ARRAY['ES.c.0']", "@start_ts": "'" + serveDay + "T00:00:00Z'",
		"@end_ts": "'" + next + "T00:00:00Z'", "sqlc.narg(row_limit)": "NULL",
	} {
		sql = strings.ReplaceAll(sql, k, v)
	}
	p := filepath.Join(dir, "bench-serve-bars.sql")
	return p, os.WriteFile(p, []byte(sql+"\n"), 0o644)
}

// pgbenchPath is pgbench on PATH, else the newest PostgreSQL server
// package's; "" when there is none.
func pgbenchPath() string {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	p, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(p) == 0 {
		return ""
	}
	slices.Sort(p)
	return p[len(p)-1]
}

// runPgbench runs script with cfg.Clients clients and reads the latencies
// of its per-transaction log.
func runPgbench(ctx context.Context, cfg ServeConfig, url, script string) (LoadResult, error) {
	pgbench := pgbenchPath()
	logDir, err := os.MkdirTemp(cfg.WorkDir, "pgbench-")
	if err != nil {
		return LoadResult{}, err
	}
	defer os.RemoveAll(logDir)
	c := exec.CommandContext(ctx, pgbench, "-n", "-c", strconv.Itoa(cfg.Clients), "-j", "2", "-T", strconv.Itoa(int(cfg.Duration.Seconds())),
		"-f", script, "-l", "--log-prefix", filepath.Join(logDir, "tx"), url)
	if out, err := c.CombinedOutput(); err != nil {
		return LoadResult{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	logs, _ := filepath.Glob(filepath.Join(logDir, "tx*"))
	var lat []time.Duration
	for _, l := range logs {
		for _, line := range strings.Split(mustRead(l), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			us, err := strconv.ParseInt(f[2], 10, 64)
			if err == nil {
				lat = append(lat, time.Duration(us)*time.Microsecond)
			}
		}
	}
	return summarize(LoadResult{}, lat, cfg.Duration), nil
}

func summarize(r LoadResult, lat []time.Duration, d time.Duration) LoadResult {
	slices.Sort(lat)
	r.Requests = len(lat)
	r.PerSec = float64(len(lat)) / d.Seconds()
	if len(lat) > 0 {
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r
}

// PrintServe writes the figures as a table.
func PrintServe(w io.Writer, r *ServeResult) {
	fmt.Fprintf(w, "GET %s: %d rows a response\n", r.Path, r.Rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\trequests\tfailed\trequests/s\tp50 ms\tp99 ms\t")
	for _, x := range []struct {
		name string
		l    LoadResult
	}{{"hdi serve (hey)", r.API}, {"the same SQL (pgbench)", r.SQL}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.1f\t%.1f\t\n", x.name, x.l.Requests, x.l.Failed, x.l.PerSec,
			float64(x.l.P50)/float64(time.Millisecond), float64(x.l.P99)/float64(time.Millisecond))
	}
	tw.Flush()
}
