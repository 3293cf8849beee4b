// Package bench measures hdi's end-to-end ingest against the baselines that
// bound it: a bare pgx CopyFrom of the same rows into an identical table
// (same columns, unique key and indexes), psql's \copy of the same rows
// from CSV, and the database's own limit: two sessions of server-side
// `COPY ... FROM 'file'` (binary), no client at all (server.go).
//
// For each schema it writes a synthetic DBN v3 zstd file (internal/synth),
// creates a fresh database on the server, runs the real `hdi ingest
// --provider databento --file F` (plugin process, default rules, mapping,
// COPY, unique key) and times it, polling the peak RSS of hdi and of its
// plugin process; then it loads the same rows with a bare CopyFrom straight
// from the same file and with `psql \copy` from a CSV export (written once,
// not timed) and with two server-side COPYs of its two halves, checks that
// all the tables hold the same rows, and drops the database. cmd/hdi-bench
// wires it; `make bench` runs it.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/synth"
)

// Config is one benchmark run.
type Config struct {
	// N is the number of records per schema.
	N int
	// Schemas to run (synth.BenchSchemas by default).
	Schemas []dbn.Schema
	// AdminURL is a server URL on which databases may be created.
	AdminURL string
	// BinDir holds hdi and hdi-provider-databento.
	BinDir string
	// WorkDir holds the generated files (reused when present).
	WorkDir string
	// Repeat is the number of rounds (each method's median is reported).
	Repeat int
	// HDIOnly skips the baselines (for scaling runs).
	HDIOnly bool
	// HDIArgs are extra arguments of hdi ingest (e.g. --param parts=1).
	HDIArgs []string
	// BareBatch > 0 makes the bare CopyFrom copy that many rows per COPY,
	// each in a savepoint, in one transaction (hdi's pattern; a diagnostic).
	BareBatch int
	// Env is extra environment for hdi (e.g. HDI_CPUPROFILE=...).
	Env []string
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

// Result is one schema's figures.
type Result struct {
	Schema    dbn.Schema
	Table     string
	Rows      int64
	FileBytes int64
	// HDI, Bare, Psql and Server are the wall times of the loads (0: not
	// run); Server is two concurrent server-side COPYs of the rows' halves.
	HDI, Bare, Psql, Server time.Duration
	// HDICPU is hdi's user+system CPU time, its plugin's included.
	HDICPU time.Duration
	// HDIDBCPU, BareDBCPU, PsqlDBCPU and ServerDBCPU are the CPU time the
	// database's backends used during each load (the median round's for
	// hdi, medians for the others; 0 when the server is not on this host),
	// sampled from /proc as bench-serve does.
	HDIDBCPU, BareDBCPU, PsqlDBCPU, ServerDBCPU time.Duration
	// HDIPeakRSS and PluginPeakRSS are peak resident sizes in bytes.
	HDIPeakRSS, PluginPeakRSS int64
}

// Rate returns rows per second for a duration (0 when d is 0).
func (r Result) Rate(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(r.Rows) / d.Seconds()
}

// Run runs the benchmark for every schema of cfg.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if cfg.N <= 0 {
		return nil, fmt.Errorf("bench: N must be positive, not %d", cfg.N)
	}
	if len(cfg.Schemas) == 0 {
		cfg.Schemas = synth.BenchSchemas
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	for _, name := range []string{"hdi", "hdi-provider-databento"} {
		if _, err := os.Stat(filepath.Join(cfg.BinDir, name)); err != nil {
			return nil, fmt.Errorf("bench: %v (run `make build` first)", err)
		}
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	var out []Result
	for _, s := range cfg.Schemas {
		r, err := runSchema(ctx, cfg, s)
		if err != nil {
			return out, fmt.Errorf("bench %s: %w", s, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (c Config) logf(format string, args ...any) {
	fmt.Fprintf(c.Log, "bench: "+format+"\n", args...)
}

func runSchema(ctx context.Context, cfg Config, schema dbn.Schema) (res Result, err error) {
	res = Result{Schema: schema, Table: strings.ReplaceAll(schema.String(), "-", "_")}
	path := filepath.Join(cfg.WorkDir, fmt.Sprintf("%s-%d.dbn.zst", schema, cfg.N))
	if _, err := os.Stat(path); err != nil {
		cfg.logf("writing %d %s records to %s", cfg.N, schema, path)
		if err := synth.WriteBench(path+".tmp", schema, cfg.N, true); err != nil {
			return res, err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return res, err
		}
	}
	if fi, err := os.Stat(path); err == nil {
		res.FileBytes = fi.Size()
	}

	dbURL, drop, err := createDB(ctx, cfg.AdminURL, "hdi_bench_"+res.Table)
	if err != nil {
		return res, err
	}
	defer func() {
		if derr := drop(); derr != nil && err == nil {
			err = derr
		}
	}()
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "HDI_PLUGIN_PATH="+cfg.BinDir)
	env = append(env, cfg.Env...)
	hdi := filepath.Join(cfg.BinDir, "hdi")
	if out, err := command(ctx, env, hdi, "migrate", "up").CombinedOutput(); err != nil {
		return res, fmt.Errorf("hdi migrate up: %v\n%s", err, out)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	cols, err := columns(ctx, conn, res.Table)
	if err != nil {
		return res, err
	}
	psql := ""
	if !cfg.HDIOnly {
		for _, t := range []string{"bench_bare", "bench_psql", "bench_server"} {
			if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE TABLE %s (LIKE %s INCLUDING ALL)`, t, res.Table)); err != nil {
				return res, err
			}
		}
		if psql, err = exec.LookPath("psql"); err != nil {
			cfg.logf("%s: no psql on PATH: skipping the \\copy baseline", schema)
		}
	}
	csvPath := filepath.Join(cfg.WorkDir, fmt.Sprintf("%s-%d.csv", schema, cfg.N))
	defer os.Remove(csvPath)

	// Each round loads into emptied tables, the three loads one after the
	// other, so a load spike on a shared machine hits one round, not one
	// method; the report takes each method's median.
	var hdiRuns []measured
	var bares, psqls, servers []time.Duration
	var bareDB, psqlDB, serverDB []time.Duration
	db := dbName(dbURL)
	var srv *serverCopy
	defer func() {
		if srv != nil {
			srv.cleanup(context.WithoutCancel(ctx))
		}
	}()
	var want tableDigest
	for round := 0; round < max(cfg.Repeat, 1); round++ {
		// 1. hdi, end to end.
		if _, err := conn.Exec(ctx, fmt.Sprintf(`TRUNCATE %s; DELETE FROM units`, pgx.Identifier{res.Table}.Sanitize())); err != nil {
			return res, err
		}
		if err := checkpoint(ctx, conn); err != nil {
			return res, err
		}
		args := append([]string{"ingest", "--provider", "databento", "--file", path}, cfg.HDIArgs...)
		cfg.logf("%s: hdi %s", schema, strings.Join(args, " "))
		var run measured
		run.dbCPU, err = backendsDuring(dbName(dbURL), func() error {
			run, err = runMeasured(ctx, env, hdi, args...)
			return err
		})
		if err != nil {
			return res, err
		}
		hdiRuns = append(hdiRuns, run)
		got, err := digest(ctx, conn, res.Table)
		if err != nil {
			return res, err
		}
		if got.rows != int64(cfg.N) {
			return res, fmt.Errorf("hdi loaded %d rows into %s, the file has %d", got.rows, res.Table, cfg.N)
		}
		if round > 0 && got != want {
			return res, fmt.Errorf("hdi loaded different rows in round %d", round+1)
		}
		want, res.Rows = got, got.rows
		if cfg.HDIOnly {
			continue
		}

		// 2. bare pgx CopyFrom from the same file into an identical table.
		d, dcpu, err := timedLoad(ctx, conn, db, "bench_bare", want, func() error {
			cfg.logf("%s: bare pgx CopyFrom", schema)
			n, err := bareCopy(ctx, conn, path, "bench_bare", cols, cfg.BareBatch)
			if err == nil && n != res.Rows {
				err = fmt.Errorf("wrote %d rows, hdi %d", n, res.Rows)
			}
			return err
		})
		if err != nil {
			return res, fmt.Errorf("bare CopyFrom: %w", err)
		}
		bares, bareDB = append(bares, d), append(bareDB, dcpu)

		// 3. Two server-side COPYs of the two halves (the export is not timed).
		if round == 0 {
			if srv, err = newServerCopy(ctx, conn, dbURL, res.Table, cols); err != nil {
				return res, fmt.Errorf("server COPY: %w", err)
			}
		}
		d, dcpu, err = timedLoad(ctx, conn, db, "bench_server", want, func() error {
			cfg.logf("%s: 2 sessions of server-side COPY FROM file", schema)
			return srv.load(ctx, "bench_server")
		})
		if err != nil {
			return res, fmt.Errorf("server COPY: %w", err)
		}
		servers, serverDB = append(servers, d), append(serverDB, dcpu)

		// 4. psql \copy from CSV (the export is not timed).
		if psql == "" {
			continue
		}
		if round == 0 {
			if err := exportCSV(ctx, conn, res.Table, cols, csvPath); err != nil {
				return res, err
			}
		}
		copyCmd := fmt.Sprintf(`\copy bench_psql (%s) FROM '%s' WITH (FORMAT csv)`, quoteCols(cols), csvPath)
		d, dcpu, err = timedLoad(ctx, conn, db, "bench_psql", want, func() error {
			cfg.logf("%s: psql \\copy", schema)
			if out, err := command(ctx, nil, psql, "-X", "-v", "ON_ERROR_STOP=1", "-d", dbURL, "-c", copyCmd).CombinedOutput(); err != nil {
				return fmt.Errorf("%v\n%s", err, out)
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("psql \\copy: %w", err)
		}
		psqls, psqlDB = append(psqls, d), append(psqlDB, dcpu)
	}
	m := medianRun(hdiRuns)
	res.HDI, res.HDICPU, res.HDIPeakRSS, res.PluginPeakRSS, res.HDIDBCPU = m.wall, m.cpu, m.peakRSS, m.childPeakRSS, m.dbCPU
	for _, r := range hdiRuns { // RSS: the worst round
		res.HDIPeakRSS, res.PluginPeakRSS = max(res.HDIPeakRSS, r.peakRSS), max(res.PluginPeakRSS, r.childPeakRSS)
	}
	res.Bare, res.Psql, res.Server = median(bares), median(psqls), median(servers)
	res.BareDBCPU, res.PsqlDBCPU, res.ServerDBCPU = median(bareDB), median(psqlDB), median(serverDB)
	return res, nil
}

// timedLoad empties table, checkpoints, times load, with the CPU time the
// backends of database db used meanwhile, and checks that table then holds
// the rows hdi loaded.
func timedLoad(ctx context.Context, conn *pgx.Conn, db, table string, want tableDigest, load func() error) (time.Duration, time.Duration, error) {
	if _, err := conn.Exec(ctx, "TRUNCATE "+pgx.Identifier{table}.Sanitize()); err != nil {
		return 0, 0, err
	}
	if err := checkpoint(ctx, conn); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	var d time.Duration
	dbCPU, err := backendsDuring(db, func() error {
		err := load()
		d = time.Since(t0)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	got, err := digest(ctx, conn, table)
	if err != nil {
		return 0, 0, err
	}
	if got != want {
		return 0, 0, fmt.Errorf("%s and hdi's table hold different rows (%d rows, hash %d vs %d rows, hash %d)", table, got.rows, got.sum, want.rows, want.sum)
	}
	return d, dbCPU, nil
}

// backendsDuring runs load and returns the CPU time the backends of
// database db used meanwhile (backendCPU, sampled every 50 ms: a backend
// that ends between two samples loses at most its last 50 ms).
func backendsDuring(db string, load func() error) (time.Duration, error) {
	b := newBackendCPU(db)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				b.sample()
				return
			case <-t.C:
				b.sample()
			}
		}
	}()
	err := load()
	close(stop)
	<-done
	return b.used(), err
}

// dbName is the database a URL names.
func dbName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// medianRun is the run of median wall time.
func medianRun(runs []measured) measured {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b measured) int { return cmp.Compare(a.wall, b.wall) })
	return s[len(s)/2]
}

func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, name, args...)
	c.Env = env
	return c
}

// createDB creates a fresh database and returns its URL and a func dropping it.
func createDB(ctx context.Context, adminURL, prefix string) (string, func() error, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("bench: server URL: %w", err)
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("bench: connect to %s: %w", u.Redacted(), err)
	}
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		admin.Close(ctx)
		return "", nil, fmt.Errorf("bench: create database: %w", err)
	}
	u.Path = "/" + name
	drop := func() error {
		defer admin.Close(context.Background())
		_, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}

// columns lists a table's writable columns in order.
// columns are the table's columns a loader writes (generated ones excluded).
func columns(ctx context.Context, conn *pgx.Conn, table string) ([]string, error) {
	ti, err := mapping.IntrospectTable(ctx, conn, table)
	if err != nil {
		return nil, err
	}
	var cols []string
	for _, c := range ti.Columns {
		if !c.Generated {
			cols = append(cols, c.Name)
		}
	}
	return cols, nil
}

func quoteCols(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

func checkpoint(ctx context.Context, conn *pgx.Conn) error {
	// A checkpoint before each timed load, so no load pays for the last one's
	// dirty pages.
	_, err := conn.Exec(ctx, "CHECKPOINT")
	return err
}

// tableDigest is a table's row count and an order-independent hash sum of
// its rows' text forms.
type tableDigest struct {
	rows int64
	sum  int64
}

func digest(ctx context.Context, conn *pgx.Conn, table string) (tableDigest, error) {
	var d tableDigest
	err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(sum(hashtext(x::text)), 0)::bigint FROM %s x`,
		pgx.Identifier{table}.Sanitize())).Scan(&d.rows, &d.sum)
	return d, err
}

func exportCSV(ctx context.Context, conn *pgx.Conn, table string, cols []string, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = conn.PgConn().CopyTo(ctx, f, fmt.Sprintf(`COPY %s (%s) TO STDOUT WITH (FORMAT csv)`, pgx.Identifier{table}.Sanitize(), quoteCols(cols)))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// measured is a finished process's figures.
type measured struct {
	wall, cpu             time.Duration
	dbCPU                 time.Duration // the database backends' (bench only)
	peakRSS, childPeakRSS int64
}

// runMeasured runs a command, polling the peak RSS (VmHWM) of its child
// processes while it runs; its own peak comes from wait4's rusage.
func runMeasured(ctx context.Context, env []string, name string, args ...string) (measured, error) {
	var m measured
	c := command(ctx, env, name, args...)
	var stderr strings.Builder
	c.Stdout, c.Stderr = io.Discard, &stderr
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return m, err
	}
	done := make(chan struct{})
	peaks := make(chan int64, 1)
	go func() {
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, pid := range ChildPIDs(c.Process.Pid) {
				peak = max(peak, vmHWM(pid))
			}
			select {
			case <-done:
				peaks <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err := c.Wait()
	m.wall = time.Since(t0)
	close(done)
	m.childPeakRSS = <-peaks
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.peakRSS = ru.Maxrss * 1024
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err != nil {
		return m, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return m, nil
}

// ChildPIDs lists the child processes of every thread of pid.
func ChildPIDs(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			var p int
			if _, err := fmt.Sscan(f, &p); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// vmHWM reads a process's peak resident set size in bytes (0 if gone).
func vmHWM(pid int) int64 { return procStatus(pid, "VmHWM") }

// procStatus reads a size field of /proc/PID/status (VmRSS, VmHWM) in
// bytes (0 if the process is gone).
func procStatus(pid int, field string) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb); err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
