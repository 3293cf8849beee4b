package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
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
	// Rounds of the two loads (at least one), alternating which goes
	// first: the machine's other load falls on both alike.
	Rounds int
	Log    io.Writer
}

// LoadResult is one load run's figures. The CPU times are what each
// process used during the run: the server under test (hdi serve; none for
// pgbench), the load generator (hey, pgbench) and the PostgreSQL backends
// of the bench database (when the server is local: read from /proc).
type LoadResult struct {
	Requests int
	Failed   int
	PerSec   float64
	P50, P99 time.Duration
	// ServerCPU, ClientCPU, DBCPU: CPU time used during the run.
	ServerCPU, ClientCPU, DBCPU time.Duration
}

// cpuPerRequest is d per request, in ms.
func (l LoadResult) cpuPerRequest(d time.Duration) float64 {
	if l.Requests == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(l.Requests)
}

// ServeResult holds the API's and the database's figures, one of each a
// round.
type ServeResult struct {
	Path     string
	Rows     int
	API, SQL []LoadResult
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
		script, err := barsSQL(cfg.WorkDir)
		if err != nil {
			return 0, err
		}
		u, err := url.Parse(h.url)
		if err != nil {
			return 0, err
		}
		db := strings.TrimPrefix(u.Path, "/")
		api := func() error {
			log.logf("hey: %d clients for %s on %s (%d rows a response)", cfg.Clients, cfg.Duration, servePath, res.Rows)
			r, err := measure(db, srv.Process.Pid, func() (LoadResult, *os.ProcessState, error) { return runHey(ctx, cfg, base+servePath) })
			res.API = append(res.API, r)
			return err
		}
		sql := func() error {
			log.logf("pgbench: %d clients for %s on the same SQL", cfg.Clients, cfg.Duration)
			r, err := measure(db, 0, func() (LoadResult, *os.ProcessState, error) { return runPgbench(ctx, cfg, h.url, script) })
			res.SQL = append(res.SQL, r)
			return err
		}
		for i := range max(cfg.Rounds, 1) {
			first, second := api, sql
			if i%2 == 1 {
				first, second = sql, api
			}
			if err := first(); err != nil {
				return 0, err
			}
			if err := second(); err != nil {
				return 0, err
			}
		}
		return 0, nil
	})
	return res, err
}

// measure runs a load and adds the CPU time its processes used: the load
// generator's from its exit status, the server's (pid; 0: none) and the
// database backends' (of database db) from /proc, sampled while the load
// runs because pgbench's backends end with it.
func measure(db string, pid int, load func() (LoadResult, *os.ProcessState, error)) (LoadResult, error) {
	server0 := procCPU(pid)
	backends := newBackendCPU(db)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				backends.sample()
				return
			case <-t.C:
				backends.sample()
			}
		}
	}()
	r, ps, err := load()
	close(stop)
	<-done
	if pid != 0 {
		r.ServerCPU = procCPU(pid) - server0
	}
	if ps != nil {
		r.ClientCPU = ps.UserTime() + ps.SystemTime()
	}
	r.DBCPU = backends.used()
	return r, err
}

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the user and system CPU time process pid has used (0 when it
// cannot be read).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command name (in parentheses, which may hold spaces).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// backendCPU follows the CPU time of the PostgreSQL backends of one
// database: for each backend, its last reading less its first (backends
// that were there at the start count from then, new ones from zero).
type backendCPU struct {
	db          string
	first, last map[int]time.Duration
}

func newBackendCPU(db string) *backendCPU {
	b := &backendCPU{db: db, first: map[int]time.Duration{}, last: map[int]time.Duration{}}
	b.sample()
	maps.Copy(b.first, b.last)
	return b
}

// sample reads every backend of the database (its command line:
// "postgres: USER DB HOST(PORT) STATE").
func (b *backendCPU) sample() {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.HasPrefix(string(cmd), "postgres: ") || !slices.Contains(strings.Fields(string(cmd)), b.db) {
			continue
		}
		if c := procCPU(pid); c > 0 {
			b.last[pid] = c
		}
	}
}

func (b *backendCPU) used() time.Duration {
	var d time.Duration
	for pid, c := range b.last {
		d += c - b.first[pid]
	}
	return d
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
func runHey(ctx context.Context, cfg ServeConfig, url string) (LoadResult, *os.ProcessState, error) {
	c := exec.CommandContext(ctx, "hey", "-c", strconv.Itoa(cfg.Clients), "-z", cfg.Duration.String(), "-o", "csv", url)
	out, err := c.Output()
	if err != nil {
		return LoadResult{}, nil, fmt.Errorf("hey: %w", err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) < 2 {
		return LoadResult{}, nil, fmt.Errorf("hey's CSV: %v (%d lines)", err, len(recs))
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
	return summarize(r, lat, cfg.Duration), c.ProcessState, nil
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
func runPgbench(ctx context.Context, cfg ServeConfig, url, script string) (LoadResult, *os.ProcessState, error) {
	pgbench := pgbenchPath()
	logDir, err := os.MkdirTemp(cfg.WorkDir, "pgbench-")
	if err != nil {
		return LoadResult{}, nil, err
	}
	defer os.RemoveAll(logDir)
	c := exec.CommandContext(ctx, pgbench, "-n", "-c", strconv.Itoa(cfg.Clients), "-j", "2", "-T", strconv.Itoa(int(cfg.Duration.Seconds())),
		"-f", script, "-l", "--log-prefix", filepath.Join(logDir, "tx"), url)
	if out, err := c.CombinedOutput(); err != nil {
		return LoadResult{}, nil, fmt.Errorf("pgbench: %v\n%s", err, out)
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
	return summarize(LoadResult{}, lat, cfg.Duration), c.ProcessState, nil
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

// PrintServe writes each round's figures, then the medians and their
// ratios, and the CPU time each side used per request.
func PrintServe(w io.Writer, r *ServeResult) {
	fmt.Fprintf(w, "GET %s: %d rows a response\n", r.Path, r.Rows)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\t\trequests\tfailed\trequests/s\tp50 ms\tp99 ms\tCPU ms/request: server\tclient\tdatabase\t")
	for i := range max(len(r.API), len(r.SQL)) {
		for _, x := range []struct {
			name string
			l    []LoadResult
		}{{"hdi serve (hey)", r.API}, {"the same SQL (pgbench)", r.SQL}} {
			if i >= len(x.l) {
				continue
			}
			l := x.l[i]
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t\n", i+1, x.name, l.Requests, l.Failed, l.PerSec,
				ms(l.P50), ms(l.P99), l.cpuPerRequest(l.ServerCPU), l.cpuPerRequest(l.ClientCPU), l.cpuPerRequest(l.DBCPU))
		}
	}
	tw.Flush()
	api, sql := medianLoad(r.API), medianLoad(r.SQL)
	if sql.PerSec == 0 || sql.P99 == 0 {
		return
	}
	fmt.Fprintf(w, "medians of %d rounds: hdi serve %.0f requests/s, p99 %.1f ms; pgbench %.0f requests/s, p99 %.1f ms\n",
		len(r.API), api.PerSec, ms(api.P99), sql.PerSec, ms(sql.P99))
	fmt.Fprintf(w, "hdi / pgbench: requests/s %.2f×, p99 %.2f×\n", api.PerSec/sql.PerSec, float64(api.P99)/float64(sql.P99))
	server := totalCPU(r.API, func(l LoadResult) time.Duration { return l.ServerCPU })
	hey := totalCPU(r.API, func(l LoadResult) time.Duration { return l.ClientCPU })
	apiDB := totalCPU(r.API, func(l LoadResult) time.Duration { return l.DBCPU })
	pgbench := totalCPU(r.SQL, func(l LoadResult) time.Duration { return l.ClientCPU })
	sqlDB := totalCPU(r.SQL, func(l LoadResult) time.Duration { return l.DBCPU })
	fmt.Fprintf(w, "CPU ms a request (all rounds): hdi serve %.2f + hey %.2f + database %.2f; pgbench %.2f + database %.2f\n",
		server, hey, apiDB, pgbench, sqlDB)
	// When the cores are the limit (the load, its client and the database
	// share them), requests/s go as the inverse of the CPU a request: this is
	// the requests/s ratio such a machine allows, and the one a server that
	// cost nothing would reach.
	if all := server + hey + apiDB; all > 0 && hey+apiDB > 0 {
		fmt.Fprintf(w, "CPU-bound: (pgbench + its database) / (hdi serve + hey + database) %.2f×; with a server that cost nothing %.2f×\n",
			(pgbench+sqlDB)/all, (pgbench+sqlDB)/(hey+apiDB))
	}
}

// medianLoad is the median of each figure over the rounds.
func medianLoad(ls []LoadResult) LoadResult {
	if len(ls) == 0 {
		return LoadResult{}
	}
	med := func(f func(LoadResult) float64) float64 {
		v := make([]float64, len(ls))
		for i, l := range ls {
			v[i] = f(l)
		}
		slices.Sort(v)
		if len(v)%2 == 0 {
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return v[len(v)/2]
	}
	return LoadResult{PerSec: med(func(l LoadResult) float64 { return l.PerSec }),
		P99: time.Duration(med(func(l LoadResult) float64 { return float64(l.P99) }))}
}

// totalCPU is one CPU figure summed over the rounds, in ms per request.
func totalCPU(ls []LoadResult, f func(LoadResult) time.Duration) float64 {
	var d time.Duration
	n := 0
	for _, l := range ls {
		d += f(l)
		n += l.Requests
	}
	return LoadResult{Requests: n}.cpuPerRequest(d)
}
