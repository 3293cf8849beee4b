package stream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/internal/stream"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func TestMain(m *testing.M) { pgtest.Main(m, testbin.NoLeftovers) }

var ticksSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts_recv", Type: arrow.PrimitiveTypes.Int64},
	{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "sequence", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64},
}, nil)

const ticksTable = `CREATE TABLE ticks (
	dataset text NOT NULL, instrument_id bigint NOT NULL, ts timestamptz NOT NULL,
	ts_recv bigint NOT NULL, sequence bigint NOT NULL, price bigint NOT NULL,
	CONSTRAINT ticks_key UNIQUE (dataset, instrument_id, ts_recv, sequence))`

// feedSource is the fake's feed: record i is published at base + i µs.
type feedSource struct {
	base int64
	n    int // records published so far (the live "now")
}

func (f *feedSource) ts(i int) int64 { return f.base + int64(i)*1000 }

// fakeLive is a provider with one live stream, "ticks": its live Fetch
// resumes from Resume (records at or after the position, as a source that
// replays on time does), sends a LiveCheckpoint after each batch, and is
// cut by the test. Its history (Plan/Fetch of a range) serves the same
// records: a backfill.
type fakeLive struct {
	src    *feedSource
	replay time.Duration
	batch  int

	mu       sync.Mutex
	sessions []*sdk.FetchRequest
	// cutAfter, per session (1-based), ends it after that many records
	// with a retryable error; absent: the session sends what is published
	// and then waits for ctx.
	cutAfter map[int]int
	// fail makes the next live fetch fail with this error.
	fail error
	// history records the ranges fetched as history.
	history [][2]int64
	// sent counts the records live fetches have sent.
	sent int
}

func (f *fakeLive) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{Name: "fake", Version: "1", LiveReplay: f.replay,
		Streams: []sdk.Stream{{Name: "ticks", Schema: ticksSchema, TimeField: "ts_recv", Live: true}}}, nil
}

func (f *fakeLive) Check(context.Context, map[string]string) (*sdk.CheckResult, error) {
	return &sdk.CheckResult{}, nil
}

func (f *fakeLive) Plan(_ context.Context, j *sdk.Job) (*sdk.Plan, error) {
	if j.Live {
		return &sdk.Plan{Units: []sdk.Unit{{Key: "live:ticks", Stream: "ticks", Dataset: j.Dataset, Start: j.Start}}}, nil
	}
	return &sdk.Plan{Units: []sdk.Unit{{Key: fmt.Sprintf("hist:%d-%d", j.Start, j.End), Stream: "ticks", Dataset: j.Dataset, Start: j.Start, End: j.End}}}, nil
}

// first is the index of the first record at or after ts.
func (f *fakeLive) first(ts int64) int {
	i := int((ts - f.src.base + 999) / 1000)
	return max(i, 0)
}

func (f *fakeLive) send(out sdk.Sender, from, to int, live bool) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, ticksSchema)
	defer b.Release()
	for i := from; i < to; {
		end := min(i+f.batch, to)
		for k := i; k < end; k++ {
			b.Field(0).(*array.Int64Builder).Append(f.src.ts(k))
			b.Field(1).(*array.Uint32Builder).Append(7)
			b.Field(2).(*array.Uint32Builder).Append(uint32(k))
			b.Field(3).(*array.Int64Builder).Append(int64(100+k%13) * 1_000_000_000)
		}
		rec := b.NewRecordBatch()
		err := out.Batch("ticks", rec)
		rec.Release()
		if err != nil {
			return err
		}
		if live {
			cp := sdk.LiveCheckpoint{Positions: []sdk.LivePosition{{Stream: "ticks", Time: f.src.ts(end - 1), Sequence: uint64(end - 1)}}, SourceTime: f.src.ts(end - 1)}
			if err := out.LiveCheckpoint(cp); err != nil {
				return err
			}
		}
		i = end
	}
	return nil
}

func (f *fakeLive) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	if !req.Job.Live {
		f.mu.Lock()
		f.history = append(f.history, [2]int64{req.Unit.Start, req.Unit.End})
		f.mu.Unlock()
		return f.send(out, f.first(req.Unit.Start), min(f.first(req.Unit.End), f.src.n), false)
	}
	f.mu.Lock()
	f.sessions = append(f.sessions, req)
	n := len(f.sessions)
	cut, hasCut := f.cutAfter[n]
	fail := f.fail
	f.fail = nil
	f.mu.Unlock()
	if fail != nil {
		return fail
	}
	from := 0
	for _, p := range req.Resume {
		from = f.first(p.Time) // replay from the position (the overlap dedupes)
	}
	to := f.src.n
	if hasCut {
		to = min(from+cut, to)
	}
	if err := f.send(out, from, to, true); err != nil {
		return err
	}
	f.mu.Lock()
	f.sent += to - from
	f.mu.Unlock()
	if hasCut {
		return sdk.Retryable(errors.New("the fake cut the feed"))
	}
	<-ctx.Done()
	return ctx.Err()
}

type bundle struct {
	pool *pgxpool.Pool
	prov *fakeLive
	job  *jobspec.Job
	opts stream.Options
}

func setup(t *testing.T, records int) *bundle {
	t.Helper()
	pool := pgtest.Connect(t, pgtest.NewMigratedDB(t))
	if _, err := pool.Exec(context.Background(), ticksTable); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	src := &feedSource{base: now.Add(-time.Minute).UnixNano(), n: records}
	prov := &fakeLive{src: src, replay: 24 * time.Hour, batch: 1000, cutAfter: map[int]int{}}
	job := &jobspec.Job{Name: "ticks-live", Mode: jobspec.ModeLive, Provider: jobspec.Provider{Name: "fake"},
		Source: jobspec.Source{Dataset: "TEST.LIVE", Schema: "ticks", Start: time.Unix(0, src.base).UTC().Format(time.RFC3339Nano)},
		Target: jobspec.Target{Table: "ticks"}, Live: jobspec.Live{CommitRows: 2500, CommitInterval: jobspec.Duration(50 * time.Millisecond)}}
	job.ApplyDefaults()
	if err := job.Validate(now); err != nil {
		t.Fatal(err)
	}
	open := func(context.Context, string) (sdk.Provider, error) { return prov, nil }
	r := runner.New(runner.Options{Pool: pool, Open: open, MaxAttempts: 1})
	return &bundle{pool: pool, prov: prov, job: job, opts: stream.Options{Pool: pool, Runner: r, Open: open, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Heartbeat: 20 * time.Millisecond}}
}

// runUntil runs the stream until cond holds (checked every 20ms), then
// stops it and returns Run's error.
func (b *bundle) runUntil(t *testing.T, cond func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx, b.opts, b.job) }()
	deadline := time.After(60 * time.Second)
	for !cond() {
		select {
		case err := <-done:
			cancel()
			return err
		case <-deadline:
			cancel()
			<-done
			t.Fatal("the condition never held")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	return <-done
}

func (b *bundle) count(t *testing.T, sql string) int64 {
	t.Helper()
	return pgtest.Scalar[int64](t, b.pool, sql)
}

// TestCutsLoseNothing: a feed cut three times, at batch edges and inside
// batches, still stores every record exactly once; each reconnect resumes
// from the committed position.
func TestCutsLoseNothing(t *testing.T) {
	b := setup(t, 20_000)
	b.prov.cutAfter = map[int]int{1: 3500, 2: 1, 3: 7777}
	var resumes [][]sdk.LivePosition
	b.opts.OnSession = func(_ int, r []sdk.LivePosition) { resumes = append(resumes, r) }
	err := b.runUntil(t, func() bool { return b.count(t, "SELECT count(*) FROM ticks") == 20_000 })
	if err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, "SELECT count(*) FROM (SELECT DISTINCT sequence FROM ticks) s"); n != 20_000 {
		t.Fatalf("%d distinct records, want 20000", n)
	}
	if got := b.count(t, "SELECT reconnects FROM live_streams WHERE name = 'ticks-live'"); got != 3 {
		t.Fatalf("reconnects = %d, want 3", got)
	}
	if len(resumes) != 4 {
		t.Fatalf("%d sessions, want 4", len(resumes))
	}
	// Every resume starts at or before what the previous sessions sent,
	// and no later than what was committed.
	for i := 1; i < len(resumes); i++ {
		if resumes[i][0].Time < resumes[i-1][0].Time {
			t.Fatalf("session %d resumed at %d, before session %d's %d", i+1, resumes[i][0].Time, i, resumes[i-1][0].Time)
		}
	}
	if got := b.count(t, "SELECT rows_total FROM live_positions WHERE name = 'ticks-live'"); got != 20_000 {
		t.Fatalf("positions count %d rows, want 20000", got)
	}
	if st := pgtest.Scalar[string](t, b.pool, "SELECT status FROM runs WHERE kind = 'live'"); st != "stopped" {
		t.Fatalf("run status %q, want stopped", st)
	}
	if st := pgtest.Scalar[string](t, b.pool, "SELECT state FROM live_streams"); st != stream.StateStopped {
		t.Fatalf("state %q, want stopped", st)
	}
}

// TestStopCommitsWhatItHolds: a stop with rows pending (commit_rows not
// reached, interval long) commits them, with their position.
func TestStopCommitsWhatItHolds(t *testing.T) {
	b := setup(t, 1200)
	b.job.Live.CommitRows, b.job.Live.CommitInterval = 1_000_000, jobspec.Duration(time.Hour)
	err := b.runUntil(t, func() bool {
		// Wait until the fake has sent everything (the committer holds it).
		b.prov.mu.Lock()
		defer b.prov.mu.Unlock()
		return b.prov.sent == 1200
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, "SELECT count(*) FROM ticks"); n != 1200 {
		t.Fatalf("%d rows after the stop, want 1200", n)
	}
	if n := b.count(t, "SELECT rows_inserted FROM runs WHERE kind = 'live'"); n != 1200 {
		t.Fatalf("the session's run counts %d rows, want 1200", n)
	}
	if ts := b.count(t, "SELECT ts_ns FROM live_positions"); ts != b.prov.src.ts(1199) {
		t.Fatalf("position %d, want the last record's %d", ts, b.prov.src.ts(1199))
	}
}

// TestSecondStreamRefuses: one process per stream.
func TestSecondStreamRefuses(t *testing.T) {
	b := setup(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx, b.opts, b.job) }()
	deadline := time.Now().Add(30 * time.Second)
	for b.count(t, "SELECT count(*) FROM live_streams WHERE state = 'streaming'") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first stream never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := stream.Run(context.Background(), b.opts, b.job)
	cancel()
	if ferr := <-done; ferr != nil {
		t.Fatal(ferr)
	}
	if !errors.Is(err, stream.ErrBusy) {
		t.Fatalf("second stream: %v, want ErrBusy", err)
	}
}

// TestAuthErrorStops: an error the provider says no retry can mend ends the
// stream, failed, without reconnecting.
func TestAuthErrorStops(t *testing.T) {
	b := setup(t, 10)
	b.prov.fail = sdk.AuthError(errors.New("authentication failed: the gateway refused the key"))
	err := stream.Run(context.Background(), b.opts, b.job)
	if kind, _ := sdk.KindOf(err); kind != sdk.ErrorAuth {
		t.Fatalf("err %v: want the auth error", err)
	}
	if n := b.count(t, "SELECT reconnects FROM live_streams"); n != 0 {
		t.Fatalf("%d reconnects after an auth error, want none", n)
	}
	if st := pgtest.Scalar[string](t, b.pool, "SELECT state FROM live_streams"); st != stream.StateFailed {
		t.Fatalf("state %q, want failed", st)
	}
}

// TestGapBeyondReplayIsBackfilled: a stream whose position is older than the
// provider replays fills the gap with a historical run that names it, then
// resumes the feed inside the window; nothing is lost or stored twice.
func TestGapBeyondReplayIsBackfilled(t *testing.T) {
	b := setup(t, 6000)
	// The feed started 10 minutes ago; the source replays 2 minutes.
	b.prov.src.base = time.Now().Add(-10 * time.Minute).UnixNano()
	b.prov.src.n = 6000 // 6 ms of records at 1 µs: all long ago
	b.prov.replay = 2 * time.Minute
	b.opts.BackfillMargin = time.Minute
	b.job.Source.Start = time.Unix(0, b.prov.src.base).UTC().Format(time.RFC3339Nano)
	// The records lie 10 minutes back: every one is before the window, so
	// the backfill loads them all and the live feed resumes in the window.
	err := b.runUntil(t, func() bool {
		return b.count(t, "SELECT count(*) FROM runs WHERE kind = 'backfill' AND status <> 'running'") == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, "SELECT count(*) FROM ticks"); n != 6000 {
		t.Fatalf("%d rows, want 6000", n)
	}
	if got := pgtest.Scalar[string](t, b.pool, "SELECT live_stream FROM runs WHERE kind = 'backfill'"); got != "ticks-live" {
		t.Fatalf("backfill run names %q, want ticks-live", got)
	}
	if b.count(t, "SELECT gaps_backfilled FROM live_streams") != 1 {
		t.Fatal("gaps_backfilled not counted")
	}
	if len(b.prov.history) != 1 || b.prov.history[0][0] != b.prov.src.base {
		t.Fatalf("history fetched %v, want one range from the feed's start %d", b.prov.history, b.prov.src.base)
	}
	b.prov.mu.Lock()
	resume := b.prov.sessions[0].Resume[0].Time
	b.prov.mu.Unlock()
	if want := time.Now().Add(-time.Minute).UnixNano(); resume < want-int64(10*time.Second) || resume > want+int64(10*time.Second) {
		t.Fatalf("the live feed resumed at %s, want about a minute ago (inside the window)", time.Unix(0, resume).UTC())
	}
}

// TestPositionCommittedWithItsRows: the provider sends a batch and then the
// position that covers it. With commit_rows reached by each batch, the
// commit waits for that position: every committed state holds exactly the
// rows up to the committed position (no position lagging its rows, none
// left unwritten at the end).
func TestPositionCommittedWithItsRows(t *testing.T) {
	const n = 5000
	b := setup(t, n)
	b.job.Live.CommitRows, b.job.Live.CommitInterval = b.prov.batch, jobspec.Duration(time.Hour)
	var bad []string
	err := b.runUntil(t, func() bool {
		var rows, ts int64
		if err := b.pool.QueryRow(context.Background(),
			"SELECT (SELECT count(*) FROM ticks), coalesce((SELECT ts_ns FROM live_positions), 0)").Scan(&rows, &ts); err != nil {
			t.Fatal(err)
		}
		if rows > 0 && ts != b.prov.src.ts(int(rows)-1) {
			bad = append(bad, fmt.Sprintf("%d rows committed with the position of record %d", rows, (ts-b.prov.src.base)/1000))
		}
		return rows == n
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("positions committed apart from their rows: %v", bad)
	}
	if ts := b.count(t, "SELECT ts_ns FROM live_positions"); ts != b.prov.src.ts(n-1) {
		t.Fatalf("position %d after the stop, want the last record's %d", ts, b.prov.src.ts(n-1))
	}
}
