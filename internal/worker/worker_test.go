package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/bench"
	"github.com/hdi-dev/hdi/internal/localpg"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/synth"
	"github.com/hdi-dev/hdi/internal/testbin"
)

func TestMain(m *testing.M) { pgtest.Main(m, testbin.NoLeftovers) }

// env is what an hdi process of a test sees: its database and the
// plugins built from this checkout, in a directory of its own (a machine).
type env struct {
	t   *testing.T
	bin string
	url string
	dir string
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	return &env{t: t, bin: testbin.Dir(t), url: url, dir: t.TempDir()}
}

// machine is a stand-in for another machine: the same database, and a
// directory of its own holding its own hdi and plugin binaries (hard
// links), its home and its working directory.
func (e *env) machine() *env {
	e.t.Helper()
	m := &env{t: e.t, url: e.url, dir: e.t.TempDir()}
	m.bin = filepath.Join(m.dir, "bin")
	if err := os.MkdirAll(m.bin, 0o755); err != nil {
		e.t.Fatal(err)
	}
	ents, err := os.ReadDir(e.bin)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ent := range ents {
		if err := os.Link(filepath.Join(e.bin, ent.Name()), filepath.Join(m.bin, ent.Name())); err != nil {
			e.t.Fatal(err)
		}
	}
	return m
}

func (e *env) cmd(args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(e.bin, "hdi"), args...)
	c.Dir = e.dir
	c.Env = append(os.Environ(), "DATABASE_URL="+e.url, "HDI_PLUGIN_PATH="+e.bin, "HOME="+e.dir, "XDG_CONFIG_HOME="+e.dir)
	return c
}

// run runs hdi to its end and returns its exit code, stdout and stderr.
func (e *env) run(args ...string) (int, string, string) {
	e.t.Helper()
	c := e.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("hdi %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func (e *env) must(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.run(args...)
	if code != 0 {
		e.t.Fatalf("hdi %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// worker is a running `hdi worker` process.
type worker struct {
	cmd *exec.Cmd
	log *testbin.Buffer
}

// startWorker starts `hdi worker` with args; the test kills it at the end
// if it still runs.
func (e *env) startWorker(args ...string) *worker {
	e.t.Helper()
	c := e.cmd(append([]string{"worker"}, args...)...)
	w := &worker{cmd: c, log: &testbin.Buffer{}}
	c.Stdout, c.Stderr = w.log, w.log
	if err := c.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		if e.t.Failed() {
			e.t.Logf("worker %d log:\n%s", c.Process.Pid, w.log.String())
		}
	})
	return w
}

// stop sends SIGTERM and waits; the worker must exit 0.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("worker %d after SIGTERM: %v\n%s", w.cmd.Process.Pid, err, w.log.String())
	}
}

// queueFile queues a trades file as parts units and returns the run id.
func (e *env) queueFile(path string, parts int, extra ...string) int64 {
	e.t.Helper()
	out := e.must(append([]string{"ingest", "--provider", "databento", "--file", path, "--param", "parts=" + strconv.Itoa(parts), "--queue"}, extra...)...)
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		e.t.Fatalf("--queue printed %q, want the run id", out)
	}
	return id
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// tradesFile writes n synthetic trades once per test.
func tradesFile(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trades.dbn")
	if err := synth.WriteTrades(p, n, false); err != nil {
		t.Fatal(err)
	}
	return p
}

// oneProcess loads path in one `hdi ingest` process on a database of its
// own: the result a queued load must equal.
func oneProcess(t *testing.T, path string, parts int) (int64, string) {
	t.Helper()
	url := pgtest.NewDB(t)
	e := newEnv(t, url)
	e.must("ingest", "--migrate", "--provider", "databento", "--file", path, "--param", "parts="+strconv.Itoa(parts))
	pool := pgtest.Connect(t, url)
	return pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`), pgtest.Checksum(t, pool, "trades")
}

func migrated(t *testing.T) (*env, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.NewDB(t)
	e := newEnv(t, url)
	e.must("migrate", "up")
	return e, pgtest.Connect(t, url)
}

// TestWorkerKilledMidUnitIsRescued: a worker SIGKILLed while it loads a
// unit leaves nothing of it; its providers die with it; after the rescue
// time another worker loads the unit, and the table equals a one-process
// load in row count and checksum.
func TestWorkerKilledMidUnitIsRescued(t *testing.T) {
	path := tradesFile(t, 400_000)
	wantRows, wantSum := oneProcess(t, path, 4)

	e, pool := migrated(t)
	run := e.queueFile(path, 4)
	a := e.machine().startWorker("--concurrency", "1", "--rescue-after", "2s")
	// Kill it once one unit is loaded and the next is under way. River
	// records a job's completion after the work returns (asynchronously),
	// so "loaded" is its completed state, not only the ledger's: a unit
	// committed but still running in River would be rescued too (and
	// skipped as loaded).
	waitFor(t, "a unit loaded and another running", 2*time.Minute, func() bool {
		return pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM river_job WHERE kind = 'hdi.unit' AND state = 'completed'`) >= 1 &&
			pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM river_job WHERE state = 'running'`) == 1
	})
	providers := bench.ChildPIDs(a.cmd.Process.Pid)
	if len(providers) == 0 {
		t.Fatal("the worker runs no provider process mid-unit")
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	for _, pid := range providers {
		waitFor(t, fmt.Sprintf("provider %d to die with its worker", pid), 2*time.Second, func() bool {
			return syscall.Kill(pid, 0) != nil
		})
	}
	loaded := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done'`)
	if loaded >= 4 {
		t.Fatal("the kill came after the last unit: nothing to rescue")
	}

	b := e.machine().startWorker("--concurrency", "2", "--rescue-after", "2s")
	code, _, errOut := e.run("runs", "wait", strconv.FormatInt(run, 10), "--timeout", "2m")
	if code != 0 {
		t.Fatalf("runs wait: exit %d\n%s", code, errOut)
	}
	b.stop(t)
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != wantRows || pgtest.Checksum(t, pool, "trades") != wantSum {
		t.Fatalf("after the rescue: %d rows (one process: %d) or other content", got, wantRows)
	}
	// The rescued unit says what happened to its first attempt.
	var rescued int64
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'hdi.unit' AND attempt = 2
		AND errors[1]->>'error' LIKE 'worker % stopped answering%'`).Scan(&rescued)
	if rescued != 1 {
		t.Fatalf("want one unit rescued at its second attempt, got %d\n%s", rescued, b.log.String())
	}
	var shown struct {
		Run   struct{ Status string }
		Units []struct {
			State   string
			Worker  string
			Attempt int
		}
	}
	out := e.must("runs", "show", strconv.FormatInt(run, 10), "--format", "json")
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Run.Status != "succeeded" || len(shown.Units) != 4 {
		t.Fatalf("runs show: %v\n%s", err, out)
	}
	workers := map[string]bool{}
	for _, u := range shown.Units {
		if u.State != "done" || u.Worker == "" {
			t.Fatalf("runs show: a unit is %s on %q\n%s", u.State, u.Worker, out)
		}
		workers[u.Worker] = true
	}
	if len(workers) != 2 {
		t.Fatalf("runs show: want units done by both workers, got %v", workers)
	}
}

// TestTwoWorkersNeverLoadAUnitTwice: every unit of the run is queued twice
// (as a worker presumed dead would leave it), two workers take them at
// once, and each unit is still loaded exactly once: one ledger row, its
// rows once, the other copy skipped.
func TestTwoWorkersNeverLoadAUnitTwice(t *testing.T) {
	path := tradesFile(t, 200_000)
	e, pool := migrated(t)
	run := e.queueFile(path, 4)
	ctx := context.Background()
	// A copy of each unit job, outside River's uniqueness.
	if _, err := pool.Exec(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, metadata, tags)
		SELECT args, kind, max_attempts, queue, state, metadata, tags FROM river_job WHERE kind = 'hdi.unit'`); err != nil {
		t.Fatal(err)
	}
	a := e.machine().startWorker("--concurrency", "2")
	b := e.machine().startWorker("--concurrency", "2")
	waitFor(t, "all 8 unit jobs to complete", 2*time.Minute, func() bool {
		return pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM river_job WHERE kind = 'hdi.unit' AND state = 'completed'`) == 8
	})
	a.stop(t)
	b.stop(t)
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 200_000 {
		t.Fatalf("trades has %d rows, want 200000", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT sum(rows_inserted)::bigint FROM units WHERE status = 'done'`); n != 200_000 {
		t.Fatalf("the ledger says %d rows inserted, want 200000 (a unit loaded twice?)", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units`); n != 4 {
		t.Fatalf("%d ledger rows, want 4", n)
	}
	log := a.log.String() + b.log.String()
	if got := strings.Count(log, "unit already loaded (by another run): skipped") + strings.Count(log, `msg="unit loaded"`); got != 8 {
		t.Fatalf("want 8 unit outcomes (4 loaded, 4 skipped), logs say %d:\n%s", got, log)
	}
	if strings.Count(log, `msg="unit loaded"`) != 4 {
		t.Fatalf("want 4 units loaded:\n%s", log)
	}
	_ = run
}

// TestQueueingTwiceChangesNothing: the same file queued again while its
// unit waits, and again once it is loaded, adds no run and no job, and
// prints the run that covers the work, for `hdi runs wait`.
func TestQueueingTwiceChangesNothing(t *testing.T) {
	path := tradesFile(t, 20_000)
	e, pool := migrated(t)
	run := e.queueFile(path, 2)
	id := strconv.FormatInt(run, 10)
	out := e.must("ingest", "--provider", "databento", "--file", path, "--param", "parts=2", "--queue", "--format", "json")
	for _, want := range []string{`"run_id":` + id + `,"created":false`, `"already_queued":2`, `"already_queued_in":[` + id + `]`} {
		if !strings.Contains(out, want) {
			t.Fatalf("second --queue: %s (want %s)", out, want)
		}
	}
	if out := e.must("ingest", "--provider", "databento", "--file", path, "--param", "parts=2", "--queue"); out != id+"\n" {
		t.Fatalf("second --queue printed %q, want the run that holds the units, %s", out, id)
	}
	jobs := func() int64 { return pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM river_job`) }
	runs := func() int64 { return pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs`) }
	if jobs() != 2 || runs() != 1 {
		t.Fatalf("%d jobs and %d runs after queueing twice, want 2 and 1", jobs(), runs())
	}
	w := e.startWorker()
	e.must("runs", "wait", strconv.FormatInt(run, 10), "--timeout", "1m")
	w.stop(t)
	code, out, errOut := e.run("ingest", "--provider", "databento", "--file", path, "--param", "parts=2", "--queue")
	if code != 0 || out != id+"\n" || !strings.Contains(errOut, "nothing queued: 2 already loaded; run "+id+" covers them") {
		t.Fatalf("third --queue: exit %d, stdout %q (want the run that loaded the units, %s)\n%s", code, out, id, errOut)
	}
	e.must("runs", "wait", id, "--timeout", "5s")
	if jobs() != 2 || runs() != 1 {
		t.Fatalf("%d jobs and %d runs after queueing a loaded file, want 2 and 1", jobs(), runs())
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 20_000 {
		t.Fatalf("trades: %d rows", n)
	}
}

// TestWaitTimeoutAndCancel: with no worker, `runs wait --timeout` gives up
// with exit 124 and says how far the run got; `runs cancel` drops the
// queued units, and `runs wait` then exits 1.
func TestWaitTimeoutAndCancel(t *testing.T) {
	path := tradesFile(t, 20_000)
	e, pool := migrated(t)
	run := strconv.FormatInt(e.queueFile(path, 3), 10)
	code, _, errOut := e.run("runs", "wait", run, "--timeout", "1s")
	if code != 124 || !strings.Contains(errOut, "run "+run+" is still queued after 1s: 0 done, 0 running, 3 queued") || !strings.Contains(errOut, "hdi status") {
		t.Fatalf("wait with no worker: exit %d\n%s", code, errOut)
	}
	if _, _, errOut := e.run("runs", "cancel", run); !strings.Contains(errOut, "run "+run+" cancelled: 3 units stopped") {
		t.Fatalf("cancel: %s", errOut)
	}
	code, _, errOut = e.run("runs", "wait", run)
	if code != 1 || !strings.Contains(errOut, "run "+run+" cancelled") {
		t.Fatalf("wait on a cancelled run: exit %d\n%s", code, errOut)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM river_job WHERE state = 'cancelled'`); n != 3 {
		t.Fatalf("%d cancelled jobs, want 3", n)
	}
	if code, _, errOut := e.run("runs", "cancel", run); code != 1 || !strings.Contains(errOut, "has already finished (cancelled)") {
		t.Fatalf("second cancel: exit %d %s", code, errOut)
	}
}

// TestScheduledJobFiresOncePerTick: three workers run a job scheduled every
// two seconds; each tick is queued exactly once, and the first tick's run
// loads the file (the later ones find it loaded).
func TestScheduledJobFiresOncePerTick(t *testing.T) {
	path := tradesFile(t, 10_000)
	e, pool := migrated(t)
	jobs := filepath.Join(e.dir, "jobs")
	if err := os.MkdirAll(jobs, 0o755); err != nil {
		t.Fatal(err)
	}
	job := fmt.Sprintf("name: every-2s\nprovider: {name: databento}\nsource:\n  files: [%s]\nschedule: \"*/2 * * * * *\"\ntimezone: Europe/London\n", path)
	if err := os.WriteFile(filepath.Join(jobs, "every-2s.yaml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := e.must("jobs", "list"); !strings.Contains(out, "every-2s") || !strings.Contains(out, time.Now().UTC().Format("2006-01-02T")) {
		t.Fatalf("jobs list shows no next run:\n%s", out)
	}
	var ws []*worker
	for range 3 {
		ws = append(ws, e.startWorker())
	}
	ticks := func() int64 {
		return pgtest.Scalar[int64](t, pool, `SELECT count(DISTINCT args->>'tick') FROM river_job WHERE kind = 'hdi.schedule'`)
	}
	waitFor(t, "four ticks", time.Minute, func() bool { return ticks() >= 4 })
	for _, w := range ws {
		w.stop(t)
	}
	if dup := pgtest.Scalar[int64](t, pool, `SELECT count(*) - count(DISTINCT args->>'tick') FROM river_job WHERE kind = 'hdi.schedule'`); dup != 0 {
		t.Fatalf("%d ticks queued more than once", dup)
	}
	var tickTimes []time.Time
	rows, err := pool.Query(context.Background(), `SELECT (args->>'tick')::timestamptz FROM river_job WHERE kind = 'hdi.schedule' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tm time.Time
		if err := rows.Scan(&tm); err != nil {
			t.Fatal(err)
		}
		tickTimes = append(tickTimes, tm)
	}
	for i, tm := range tickTimes {
		if tm.Second()%2 != 0 || tm.Nanosecond() != 0 || (i > 0 && tm.Sub(tickTimes[i-1])%(2*time.Second) != 0) {
			t.Fatalf("ticks are not on the schedule: %v", tickTimes)
		}
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs WHERE job = 'every-2s' AND schedule_tick IS NOT NULL`); n != 1 {
		t.Fatalf("%d scheduled runs, want 1 (later ticks find the file loaded)", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 10_000 {
		t.Fatalf("trades: %d rows", n)
	}
}

// TestWorkersSurviveADatabaseRestart: the database restarts while two
// workers load; they reconnect and finish, and the table equals a
// one-process load.
func TestWorkersSurviveADatabaseRestart(t *testing.T) {
	path := tradesFile(t, 400_000)
	wantRows, wantSum := oneProcess(t, path, 6)

	dir := t.TempDir()
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := localpg.Throwaway(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Remove(context.Background()) })
	e := newEnv(t, c.DatabaseURL("postgres"))
	e.must("migrate", "up")
	run := e.queueFile(path, 6)
	a := e.startWorker("--concurrency", "1")
	b := e.startWorker("--concurrency", "1")
	pool, err := pgxpool.New(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a unit loaded", 2*time.Minute, func() bool {
		var n int64
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM units WHERE status = 'done'`).Scan(&n)
		return n >= 1
	})
	pool.Close()
	if _, err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e.run("runs", "wait", strconv.FormatInt(run, 10), "--timeout", "3m", "--format", "json")
	if code != 0 {
		t.Fatalf("runs wait after the restart: exit %d\n%s", code, errOut)
	}
	var doc struct {
		Run struct{ Status string } `json:"run"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Run.Status != "succeeded" {
		t.Fatalf("runs wait --format json: %v %s", err, out)
	}
	a.stop(t)
	b.stop(t)
	pool = pgtest.Connect(t, e.url)
	if got := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); got != wantRows || pgtest.Checksum(t, pool, "trades") != wantSum {
		t.Fatalf("after the restart: %d rows (one process: %d) or other content", got, wantRows)
	}
}

// TestSIGTERMPutsUnitsBack: a worker stopped with SIGTERM mid-unit exits 0
// at once, its unit rolls back and is back in the queue as it was (no
// attempt spent, no error), without waiting for the rescue time.
func TestSIGTERMPutsUnitsBack(t *testing.T) {
	path := tradesFile(t, 400_000)
	e, pool := migrated(t)
	run := e.queueFile(path, 2)
	w := e.startWorker("--concurrency", "1", "--rescue-after", "1h")
	waitFor(t, "a unit loading", time.Minute, func() bool {
		return strings.Contains(w.log.String(), "worker started") &&
			pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND state = 'active'`) >= 1
	})
	start := time.Now()
	w.stop(t)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the worker took %s to stop", d)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM river_job WHERE (state = 'available' AND attempt = 0 AND errors IS NULL) OR state = 'completed'`); n != 2 {
		var states []string
		rows, _ := pool.Query(context.Background(), `SELECT format('%s attempt=%s errors=%s', state, attempt, errors) FROM river_job`)
		for rows.Next() {
			var st string
			_ = rows.Scan(&st)
			states = append(states, st)
		}
		t.Fatalf("the stopped unit is not back in the queue untouched: %v\n%s", states, w.log.String())
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done'`); n == 2 {
		t.Fatal("the SIGTERM came after both units: nothing tested")
	}
	if !strings.Contains(w.log.String(), "units under way roll back and go back to the queue") {
		t.Fatalf("the worker did not say what happens to its units:\n%s", w.log.String())
	}
	e.startWorker()
	e.must("runs", "wait", strconv.FormatInt(run, 10), "--timeout", "1m")
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 400_000 {
		t.Fatalf("trades: %d rows", n)
	}
}

// TestRelativeFileLoadsOnAWorkerElsewhere: a file queued by a relative
// path (./trades.dbn) is recorded by its absolute path, so a worker in
// another working directory loads that very file.
func TestRelativeFileLoadsOnAWorkerElsewhere(t *testing.T) {
	e, pool := migrated(t)
	if err := synth.WriteTrades(filepath.Join(e.dir, "trades.dbn"), 5_000, false); err != nil {
		t.Fatal(err)
	}
	out := e.must("ingest", "--provider", "databento", "--file", "./trades.dbn", "--queue")
	run := strings.TrimSpace(out)
	if got := pgtest.Scalar[string](t, pool, `SELECT parameters->'job'->'source'->'files'->>0 FROM runs`); got != filepath.Join(e.dir, "trades.dbn") {
		t.Fatalf("the run records the file as %q", got)
	}
	other := e.machine()
	if other.dir == e.dir {
		t.Fatal("the worker must run in another directory")
	}
	w := other.startWorker()
	other.must("runs", "wait", run, "--timeout", "1m")
	w.stop(t)
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 5_000 {
		t.Fatalf("trades: %d rows", n)
	}
}
