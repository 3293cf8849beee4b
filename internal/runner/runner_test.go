package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestRunLoadsThenSkipsThenForces(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(4, 2500)
	s, err := run(t, newRunner(pool, fake, false), tickJob())
	if err != nil {
		t.Fatal(err)
	}
	if s.UnitsDone != 4 || s.Rows.Inserted != 10000 || s.Status != "succeeded" {
		t.Fatalf("first run: %+v", s)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`); n != 10000 {
		t.Fatalf("rows = %d", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done' AND rows_inserted = 2500`); n != 4 {
		t.Fatalf("ledger rows = %d", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs WHERE status = 'succeeded' AND rows_inserted = 10000 AND units_done = 4`); n != 1 {
		t.Fatal("runs row not recorded")
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM symbol_mappings WHERE dataset = 'TEST.ONE' AND stype_in_symbol = 'X' AND instrument_id = 7`); n != 1 {
		t.Fatalf("symbol mappings = %d, want the one mapping once", n)
	}
	// ts is filled from ts_recv.
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks WHERE ts <> to_timestamp(ts_recv / 1e9) AT TIME ZONE 'UTC' AT TIME ZONE 'UTC'`); n != 0 {
		t.Fatalf("%d rows have a ts that is not ts_recv", n)
	}
	sum := pgtest.Checksum(t, pool, "ticks")

	s, err = run(t, newRunner(pool, fake, false), tickJob())
	if err != nil || s.UnitsSkipped != 4 || s.UnitsDone != 0 {
		t.Fatalf("re-run should skip every unit: %+v %v", s, err)
	}
	s, err = run(t, newRunner(pool, fake, true), tickJob())
	if err != nil || s.UnitsDone != 4 || s.Rows.Inserted != 10000 {
		t.Fatalf("forced run: %+v %v", s, err)
	}
	if pgtest.Checksum(t, pool, "ticks") != sum || pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`) != 10000 {
		t.Fatal("forced run changed the content")
	}
}

func TestQuarantineAndWarnRules(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(2, 1000)
	fake.price = func(_, i int) int64 {
		if i%100 == 0 {
			return -5 // 10 per unit
		}
		return 100_000_000_000
	}
	job := tickJob()
	job.Source.End = "2024-01-02"
	job.Rules = []jobspec.RuleSpec{
		{Name: "positive-price", Type: "min", Field: "price", Min: jobspec.NumberOf("0"), Severity: "error"},
		{Name: "small-size", Type: "max", Field: "size", Max: jobspec.NumberOf("3"), Severity: "warn"},
	}
	job.ApplyDefaults()
	s, err := run(t, newRunner(pool, fake, false), job)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows.Quarantined != 20 || s.Rows.Inserted != 1980 {
		t.Fatalf("summary %+v", s)
	}
	if s.Rules["positive-price"] != 20 || s.Rules["small-size"] == 0 || s.Rows.Warned != s.Rules["small-size"] {
		t.Fatalf("rule counts %+v warned %d", s.Rules, s.Rows.Warned)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks WHERE price < 0`); n != 0 {
		t.Fatalf("%d negative prices loaded", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks WHERE size > 3`); n == 0 {
		t.Fatal("warn rows must be loaded")
	}
	// The quarantine keeps the full record, the rule and the message.
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM quarantine WHERE rule = 'positive-price' AND severity = 'error'
		AND (record->>'price')::bigint = -5 AND record ? 'ts_recv' AND record->>'side' IN ('A','B') AND message <> ''`); n != 20 {
		t.Fatalf("quarantine rows = %d", n)
	}
	var sb strings.Builder
	if err := s.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20 quarantined", "positive-price=20", "hdi quarantine list --run"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestQuarantineThresholdFailsTheUnit(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(1, 100)
	fake.price = func(_, i int) int64 { return int64(i%2*2-1) * 5 } // half negative
	job := tickJob()
	job.Source.End = "2024-01-01"
	job.Rules = []jobspec.RuleSpec{{Name: "positive-price", Type: "min", Field: "price", Min: jobspec.NumberOf("0"), Severity: "error"}}
	job.Quarantine.MaxPercent = 10
	job.ApplyDefaults()
	var logs strings.Builder
	r := runner.New(runner.Options{Pool: pool, MaxAttempts: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Open: func(context.Context, string) (sdk.Provider, error) { return fake, nil }})
	s, err := run(t, r, job)
	if err == nil || s.UnitsFailed != 1 || !strings.Contains(err.Error(), "quarantine.max_percent") {
		t.Fatalf("want the unit to fail on the threshold: %+v %v", s, err)
	}
	// The error is said once, by the summary, naming the unit once.
	var text strings.Builder
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String()+text.String(), "max_percent"); n != 1 || strings.Count(text.String(), "fake:ticks:0") != 1 {
		t.Errorf("the unit's error appears %d times (want once, in the summary):\nlog:\n%s\nsummary:\n%s", n, logs.String(), text.String())
	}
	if pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`) != 0 || pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM quarantine`) != 0 {
		t.Fatal("a failed unit must leave nothing behind")
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'failed' AND error LIKE '%max_percent%'`); n != 1 {
		t.Fatal("the failed unit must have a failed ledger row")
	}
}

func TestFailedUnitRollsBackAndRerunCompletes(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	clean := setup(t)
	if _, err := run(t, newRunner(clean, newFake(4, 3000), false), tickJob()); err != nil {
		t.Fatal(err)
	}
	want := pgtest.Checksum(t, clean, "ticks")

	fake := newFake(4, 3000)
	fake.failUnit, fake.failures = 2, 1
	s, err := run(t, newRunner(pool, fake, false), tickJob())
	if err == nil || s.UnitsFailed != 1 || s.UnitsDone != 3 {
		t.Fatalf("want one failed unit: %+v %v", s, err)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks WHERE ts_recv >= $1 AND ts_recv < $2`, fake.start+2*day, fake.start+3*day); n != 0 {
		t.Fatalf("the failed unit left %d rows", n)
	}
	s, err = run(t, newRunner(pool, fake, false), tickJob())
	if err != nil || s.UnitsDone != 1 || s.UnitsSkipped != 3 {
		t.Fatalf("re-run: %+v %v", s, err)
	}
	if got := pgtest.Checksum(t, pool, "ticks"); got != want || pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`) != 12000 {
		t.Fatal("after the re-run the table must equal a clean run's")
	}
}

func TestRetryableFailureIsRetriedInTheSameRun(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(2, 1500)
	fake.failUnit, fake.failures = 1, 1 // "stream cut" once: retryable
	r := runner.New(runner.Options{Pool: pool, MaxAttempts: 3, Open: openFake(fake)})
	p, err := r.Plan(context.Background(), tickJob())
	if err != nil {
		t.Fatal(err)
	}
	p.Units = p.Units[:2]
	s, err := r.Run(context.Background(), p)
	if err != nil || s.UnitsDone != 2 || s.Rows.Inserted != 3000 {
		t.Fatalf("the cut unit should succeed on its retry: %+v %v", s, err)
	}
	if fake.fetches["fake:ticks:1"] != 2 {
		t.Fatalf("unit 1 fetched %d times, want 2", fake.fetches["fake:ticks:1"])
	}
	if pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`) != 3000 {
		t.Fatal("a retried unit must not duplicate rows")
	}
}

func TestStopRollsBackTheUnitInFlight(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(3, 5000)
	stop := make(chan struct{})
	var once sync.Once
	fake.onBatch = func(unit, batch int) {
		if unit == 0 && batch == 1 {
			once.Do(func() { close(stop) })
		}
	}
	job := tickJob()
	job.Concurrency = 1
	r := runner.New(runner.Options{Pool: pool, MaxAttempts: 3, Open: openFake(fake), Stop: stop})
	p, err := r.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Run(context.Background(), p)
	if !errors.Is(err, runner.ErrInterrupted) || s.Status != "interrupted" || !strings.Contains(err.Error(), "run the same command again") {
		t.Fatalf("want an interrupted run: %+v %v", s, err)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`); n != 0 {
		t.Fatalf("an interrupted unit left %d rows", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs WHERE status = 'interrupted'`); n != 1 {
		t.Fatal("the run must be recorded as interrupted")
	}
	s, err = run(t, newRunner(pool, newFake(3, 5000), false), job)
	if err != nil || s.UnitsDone != 3 || pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`) != 15000 {
		t.Fatalf("resume: %+v %v", s, err)
	}
}

func TestRowErrorsAreQuarantined(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(1, 10)
	fake.rowError = true
	job := tickJob()
	job.Source.End = "2024-01-01"
	s, err := run(t, newRunner(pool, fake, false), job)
	if err != nil || s.Rows.Quarantined != 1 || s.Rows.Inserted != 10 {
		t.Fatalf("%+v %v", s, err)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM quarantine WHERE rule = 'source' AND message = 'f.csv:3: bad number' AND record->>'raw' = 'x,y'`); n != 1 {
		t.Fatal("the provider's row error must be quarantined with its raw record")
	}
}

func TestMappingIsCheckedBeforeAnyDataMoves(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE narrow (dataset text NOT NULL, ts timestamptz NOT NULL, ts_recv bigint NOT NULL, must_have text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	job := tickJob()
	job.Target.Table = "narrow"
	fake := newFake(1, 10)
	_, err := newRunner(pool, fake, false).Plan(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "must_have") {
		t.Fatalf("want a mapping error naming the column: %v", err)
	}
	if len(fake.fetches) != 0 {
		t.Fatal("nothing may be fetched when the mapping is wrong")
	}
}

func TestMaxCostRefusesTheRun(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(3, 10)
	fake.cost = 1.5
	job := tickJob()
	maxCost := 4.0
	job.MaxCost = &maxCost
	r := newRunner(pool, fake, false)
	p, err := r.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if p.CostUSD < 4.49 || !p.KnownCost {
		t.Fatalf("estimated cost %v", p.CostUSD)
	}
	_, err = r.Run(context.Background(), p)
	if !errors.Is(err, runner.ErrCostTooHigh) || !strings.Contains(err.Error(), "$4.50") {
		t.Fatalf("want a refusal naming the cost: %v", err)
	}
	if len(fake.fetches) != 0 || pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM runs`) != 0 {
		t.Fatal("a refused run must not start")
	}
}

func TestConcurrentRunsOfOneJobNeverDuplicate(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	var wg sync.WaitGroup
	sums := make([]*runner.Summary, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := run(t, newRunner(pool, newFake(4, 2000), false), tickJob())
			if err != nil {
				t.Error(err)
			}
			sums[i] = s
		}()
	}
	wg.Wait()
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM ticks`); n != 8000 {
		t.Fatalf("rows = %d, want 8000", n)
	}
	if done := sums[0].UnitsDone + sums[1].UnitsDone; done != 4 {
		t.Fatalf("units loaded %d times in all, want 4", done)
	}
}

func TestForceWithoutTimeRangeReloadsWithDedup(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(2, 500)
	fake.noRange = true
	job := tickJob()
	job.Source.Start, job.Source.End = "", ""
	if _, err := run(t, newRunner(pool, fake, false), job); err != nil {
		t.Fatal(err)
	}
	sum := pgtest.Checksum(t, pool, "ticks")
	s, err := run(t, newRunner(pool, fake, true), job)
	if err != nil || s.UnitsDone != 2 || s.Rows.Inserted != 0 || s.Rows.Deduplicated != 1000 {
		t.Fatalf("forced run without ranges: %+v %v", s, err)
	}
	if pgtest.Checksum(t, pool, "ticks") != sum {
		t.Fatal("the table changed")
	}
}

func openFake(p *fakeProvider) runner.OpenFunc {
	return func(context.Context, string) (sdk.Provider, error) { return p, nil }
}

// TestDryRunWithoutTheTargetTable: a plan only shown or checked (dry run,
// validation) warns that the target table does not exist yet; a run's plan
// fails on it.
func TestDryRunWithoutTheTargetTable(t *testing.T) {
	t.Parallel()
	pool := pgtest.Connect(t, pgtest.NewMigratedDB(t)) // no ticks table
	fake := newFake(1, 10)
	for _, dry := range []bool{false, true} {
		r := runner.New(runner.Options{Pool: pool, DryRun: dry, Open: func(context.Context, string) (sdk.Provider, error) { return fake, nil }})
		p, err := r.Plan(context.Background(), tickJob())
		switch {
		case !dry && (err == nil || !strings.Contains(err.Error(), `target table "ticks" does not exist`)):
			t.Errorf("a run's plan: %v, want the missing table", err)
		case dry && (err != nil || len(p.Units) != 1 || !strings.Contains(strings.Join(p.Warnings, "\n"), `target table "ticks" does not exist yet`)):
			t.Errorf("a dry run's plan: %v, want a warning about the table", err)
		}
	}
}

// TestAValueTheTableCannotHoldIsAQuarantinedRow: a provider's value that
// the mapping sends into a narrower column (a price into integer), or that
// a CHECK constraint refuses, costs its row, never the unit: the row is
// quarantined with the column and the reason, the others load, and a
// re-run skips the unit.
func TestAValueTheTableCannotHoldIsAQuarantinedRow(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE ticks_narrow (dataset text NOT NULL, instrument_id bigint NOT NULL,
		ts timestamptz NOT NULL, ts_recv bigint NOT NULL, price integer, size bigint NOT NULL CHECK (size <> 4), side text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	fake := newFake(1, 1000)
	fake.price = func(_, i int) int64 {
		if i == 7 {
			return 10_000_000_000 // does not fit integer
		}
		return int64(100 + i)
	}
	job := tickJob()
	job.Source.End = "2024-01-01"
	job.Target.Table = "ticks_narrow"
	s, err := run(t, newRunner(pool, fake, false), job)
	// size = 1 + i%5: 200 rows of size 4 break the CHECK.
	if err != nil || s.UnitsDone != 1 || s.UnitsFailed != 0 || s.Rows.Inserted != 799 || s.Rows.Quarantined != 201 || s.Rules["table"] != 201 {
		t.Fatalf("%+v %v", s, err)
	}
	var msg, field string
	if err := pool.QueryRow(context.Background(), `SELECT message, field FROM quarantine WHERE rule = 'table' AND (record->>'price')::bigint = 10000000000`).Scan(&msg, &field); err != nil {
		t.Fatal(err)
	}
	if want := `column "price" (integer): value 10000000000 out of range [-2147483648, 2147483647]: widen the column or map another field`; msg != want || field != "price" {
		t.Fatalf("quarantined as %q (field %q), want %q", msg, field, want)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM quarantine WHERE rule = 'table' AND (record->>'size')::int = 4 AND message LIKE '%violates check constraint "ticks_narrow_size_check"%(SQLSTATE 23514)'`); n != 200 {
		t.Fatalf("%d rows quarantined for the CHECK, want 200", n)
	}
	s, err = run(t, newRunner(pool, fake, false), job)
	if err != nil || s.UnitsSkipped != 1 {
		t.Fatalf("re-run: %+v %v", s, err)
	}
	// A retry while the table still cannot hold them leaves them
	// quarantined (again, with today's reason); once it can, they load.
	ctx := context.Background()
	r := newRunner(pool, fake, false)
	res, err := r.RetryQuarantine(ctx, job, 1)
	if err != nil || res.Loaded != 0 || res.StillRejected != 201 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	quarantined := `SELECT (SELECT rows_quarantined FROM runs WHERE run_id = 1) || '/' || (SELECT count(*) FROM quarantine WHERE retried_at IS NULL)`
	if got := pgtest.Scalar[string](t, pool, quarantined); got != "201/201" {
		t.Fatalf("after a retry that loads nothing, run count / rows left: %s", got)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE ticks_narrow ALTER price TYPE bigint, DROP CONSTRAINT ticks_narrow_size_check`); err != nil {
		t.Fatal(err)
	}
	if res, err = r.RetryQuarantine(ctx, job, 1); err != nil || res.Loaded != 201 || res.StillRejected != 0 {
		t.Fatalf("retry into the wider table: %+v %v", res, err)
	}
	if got := pgtest.Scalar[string](t, pool, quarantined); got != "0/0" {
		t.Fatalf("after the retry, run count / rows left: %s", got)
	}
}
