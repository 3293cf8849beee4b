// Package stream records a live feed into the same tables as history,
// exactly once (`hdi stream`).
//
// A live feed is one unit of the provider contract without an end: the
// provider sends Arrow batches as records are published, and
// LiveCheckpoints that say how far each stream of the feed is. For each
// stream a committer validates, maps and COPYs the batches into an open
// transaction (the runner's StreamLoader, the path every unit takes), and
// commits them together with the stream's position every CommitRows rows or
// CommitInterval, whichever comes first: what is committed is always a
// prefix of the feed.
//
// When the feed is cut (a dropped connection, a stalled source, the
// provider killed, the database gone) the committers commit what they hold
// and the stream reconnects, with backoff and jitter, handing the
// committed positions back to the provider: the source replays from there
// and the tables' unique keys drop the overlap. A gap longer than what the
// source can replay (it was down for long) is first filled by an ordinary
// historical run, through the unit ledger, that names the stream. One
// process runs a stream: it holds a session advisory lock on the stream's
// name for as long as it runs.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Options configure a stream.
type Options struct {
	Pool   *pgxpool.Pool
	Runner *runner.Runner
	// Open starts (or restarts, when it died) a provider plugin: the
	// runner's own OpenFunc.
	Open   runner.OpenFunc
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// BackoffMin and BackoffMax bound the wait before a reconnect: it
	// doubles from BackoffMin to BackoffMax, with jitter, and starts over
	// once a session has committed rows.
	BackoffMin, BackoffMax time.Duration
	// Heartbeat is how often the process says it is alive (default 5s).
	Heartbeat time.Duration
	// BackfillMargin is how much inside the replay window the live feed
	// resumes after a backfill (default 10 minutes): the backfill ends there
	// and the replay starts there.
	BackfillMargin time.Duration
	// OnCommit, when set, is told of every commit: the stream, the rows it
	// committed and how long its oldest batch waited (benchmarks, metrics).
	OnCommit func(stream string, rows int64, wait time.Duration)
	// OnSession, when set, is told when a session of the feed starts,
	// before the provider is asked for it (tests).
	OnSession func(n int, resume []sdk.LivePosition)
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 500 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.BackfillMargin <= 0 {
		o.BackfillMargin = 10 * time.Minute
	}
}

// ErrBusy is returned when another process runs the stream.
var ErrBusy = errors.New("the stream is already running")

// Stream states, as live_streams.state has them.
const (
	StateStarting     = "starting"
	StateStreaming    = "streaming"
	StateReconnecting = "reconnecting"
	StateBackfilling  = "backfilling"
	StateStopped      = "stopped"
	StateFailed       = "failed"
)

// Run records the live job until ctx is done (SIGTERM, SIGINT): then it
// commits what it holds and returns nil. It returns an error when the
// stream cannot go on: another process runs it (ErrBusy), the provider
// refuses the job or the credentials, or the database refuses its rows.
// Everything else (cuts, stalls, a crashed provider, a database that goes
// away and comes back) it rides out by reconnecting.
func Run(ctx context.Context, o Options, job *jobspec.Job) error {
	o.defaults()
	s := &session{o: o, job: job, log: o.Logger.With("stream", job.Name)}
	return s.run(ctx)
}

type session struct {
	o   Options
	job *jobspec.Job
	log *slog.Logger

	planned []*runner.Planned
	desc    *sdk.Description
	runID   int64
	// dbCtx carries the database work: it outlives the feed's context, so
	// a stop still commits what the committers hold.
	dbCtx context.Context

	committed atomic.Int64 // rows committed this process, for rows_per_s
	counts    runCounts
}

// runCounts are the session's row tallies, for its run row.
type runCounts struct {
	mu                                        sync.Mutex
	inserted, deduplicated, quarantined, warn int64
}

func (s *session) run(ctx context.Context) error {
	o := s.o
	dbCtx, cancelDB := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDB()
	s.dbCtx = dbCtx
	conn, err := o.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: connect to the database: %w", s.job.Name, err)
	}
	defer conn.Release()
	q := dbq.New(conn)
	locked, err := q.LockLiveStream(ctx, s.job.Name)
	if err != nil {
		return fmt.Errorf("stream %s: take its lock (is the database migrated? run `hdi migrate up`): %w", s.job.Name, err)
	}
	if !locked {
		return s.busy(ctx, q)
	}
	defer func() { _ = q.UnlockLiveStream(context.WithoutCancel(ctx), s.job.Name) }()

	if s.planned, s.desc, err = o.Runner.PlanLive(ctx, s.job); err != nil {
		return err
	}
	if err := s.start(ctx); err != nil {
		return err
	}
	hbCtx, stopHB := context.WithCancel(dbCtx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); s.heartbeat(hbCtx) }()
	err = s.loop(ctx)
	stopHB()
	<-hbDone
	return s.finish(err)
}

// busy explains who holds the stream.
func (s *session) busy(ctx context.Context, q *dbq.Queries) error {
	row, err := q.GetLiveStream(ctx, s.job.Name)
	if err != nil || row.Host == nil || row.Pid == nil {
		return fmt.Errorf("%w: stream %s is held by another hdi stream process; stop it first (one process records a stream)", ErrBusy, s.job.Name)
	}
	since := ""
	if row.StartedAt != nil {
		since = " since " + row.StartedAt.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("%w: stream %s is recorded by pid %d on %s%s; stop it first (one process records a stream)", ErrBusy, s.job.Name, *row.Pid, *row.Host, since)
}

// start records the session: a run row of kind live, and the stream's row.
func (s *session) start(ctx context.Context) error {
	p0 := s.planned[0]
	job := runner.WithoutSecrets(s.job, p0.SecretKeys)
	params, err := json.Marshal(map[string]any{"job": job, "live": true, "streams": s.job.LiveSchemas()})
	if err != nil {
		return err
	}
	q := dbq.New(s.o.Pool)
	name := s.job.Name
	s.runID, err = q.CreateLiveRun(ctx, dbq.CreateLiveRunParams{Job: name, Parameters: params, Kind: "live", LiveStream: &name})
	if err != nil {
		return fmt.Errorf("stream %s: record its run: %w", name, err)
	}
	jobJSON, err := json.Marshal(job)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	var dataset *string
	if d := s.job.Source.Dataset; d != "" {
		dataset = &d
	}
	symbols := s.job.Source.Symbols
	if symbols == nil {
		symbols = []string{}
	}
	if err := q.StartLiveStream(ctx, dbq.StartLiveStreamParams{
		Name: name, Provider: s.job.Provider.Name, Dataset: dataset, Streams: s.job.LiveSchemas(), Symbols: symbols,
		Job: jobJSON, RunID: &s.runID, Host: &host, Pid: ptr(int32(os.Getpid())),
	}); err != nil {
		return fmt.Errorf("stream %s: record it: %w", name, err)
	}
	s.log.Info("stream started", "run", s.runID, "streams", s.job.LiveSchemas(), "commit_rows", s.commitRows(), "commit_interval", s.commitInterval())
	return nil
}

func ptr[T any](v T) *T { return &v }

func (s *session) commitRows() int {
	if n := s.job.Live.CommitRows; n > 0 {
		return n
	}
	return jobspec.DefaultCommitRows
}

func (s *session) commitInterval() time.Duration {
	if d := time.Duration(s.job.Live.CommitInterval); d > 0 {
		return d
	}
	return jobspec.DefaultCommitInterval
}

func (s *session) backfill() bool { return s.job.Live.Backfill == nil || *s.job.Live.Backfill }

// setState records the stream's state; errors only lose a report.
func (s *session) setState(state string, cause error) {
	var msg *string
	if cause != nil {
		m := cause.Error()
		msg = &m
	}
	if err := dbq.New(s.o.Pool).SetLiveStreamState(s.dbCtx, dbq.SetLiveStreamStateParams{Name: s.job.Name, State: state, Error: msg}); err != nil {
		s.log.Warn("could not record the stream's state", "state", state, "err", err)
	}
}

// heartbeat says the process is alive, with its rows per second.
func (s *session) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.o.Heartbeat)
	defer t.Stop()
	last, at := s.committed.Load(), s.o.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, now := s.committed.Load(), s.o.Now()
		rate := float64(n-last) / max(now.Sub(at).Seconds(), 1e-3)
		last, at = n, now
		if err := dbq.New(s.o.Pool).HeartbeatLiveStream(ctx, dbq.HeartbeatLiveStreamParams{Name: s.job.Name, RowsPerS: rate}); err != nil && ctx.Err() == nil {
			s.log.Debug("heartbeat not recorded", "err", err)
		}
	}
}

// loop runs sessions of the feed until ctx is done or the stream cannot go
// on.
func (s *session) loop(ctx context.Context) error {
	backoff := s.o.BackoffMin
	var uncounted int64
	for n := 1; ; n++ {
		positions, err := s.positions()
		if err == nil {
			s.countReconnects(&uncounted) // those the database missed
		}
		if err == nil && s.backfill() {
			positions, err = s.fillGap(ctx, positions)
		}
		var rows int64
		if err == nil {
			s.setState(StateStreaming, nil)
			rows, err = s.feed(ctx, n, positions)
		}
		if ctx.Err() != nil {
			return nil // stopped: the committers have committed what they held
		}
		if !rideOut(err) {
			return err
		}
		if rows > 0 {
			backoff = s.o.BackoffMin
		}
		wait := backoff/2 + rand.N(backoff/2+1) // jitter: half to all of it
		backoff = min(backoff*2, s.o.BackoffMax)
		if _, asked := runner.Retryable(err); asked > wait {
			wait = asked
		}
		s.log.Warn("live feed cut: reconnecting", "session", n, "wait", wait.Round(time.Millisecond), "err", err)
		uncounted++
		s.countReconnects(&uncounted)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// countReconnects adds the reconnects not counted yet to the stream's row;
// those the database cannot be told of now (it may be what is down) are
// counted next time.
func (s *session) countReconnects(n *int64) {
	if *n == 0 {
		return
	}
	if err := dbq.New(s.o.Pool).CountLiveReconnect(s.dbCtx, dbq.CountLiveReconnectParams{Name: s.job.Name, N: *n}); err == nil {
		*n = 0
	}
}

// rideOut reports whether the stream reconnects after a session ended with
// err: on anything but what no retry can mend (the provider refusing the
// job or the credentials, the database refusing the rows). A source that
// ended the feed, a crashed or hung provider, a cut connection and a
// database that is down or restarting are all ridden out.
func rideOut(err error) bool {
	if err == nil || errors.Is(err, errFeedEnded) || dbconn.Classify(err) == dbconn.FaultUnavailable {
		return true
	}
	retry, _ := runner.Retryable(err)
	return retry
}

var errFeedEnded = errors.New("the provider ended the live feed")

// positions reads the committed position of each stream of the feed. A
// stream without one starts where the feed starts: the job's start (a
// replay), else now; that start is committed as its position, so a stream
// that has received nothing yet when the feed is cut resumes from there
// rather than from a later now.
func (s *session) positions() ([]sdk.LivePosition, error) {
	q := dbq.New(s.o.Pool)
	rows, err := q.LivePositions(s.dbCtx, s.job.Name)
	if err != nil {
		return nil, fmt.Errorf("read the stream's positions: %w", err)
	}
	have := map[string]sdk.LivePosition{}
	for _, r := range rows {
		have[r.Stream] = sdk.LivePosition{Stream: r.Stream, Time: r.TsNs, Sequence: parseSeq(r.Sequence)}
	}
	start := s.o.Now().UnixNano()
	rng, _, err := s.job.TimeRange(s.o.Now())
	if err != nil {
		return nil, err
	}
	if !rng.IsZero() {
		start = rng.Start.UnixNano()
	}
	var out []sdk.LivePosition
	for _, p := range s.planned {
		name := p.Stream.Name
		pos, ok := have[name]
		if !ok {
			pos = sdk.LivePosition{Stream: name, Time: start}
			if err := q.StartLivePosition(s.dbCtx, dbq.StartLivePositionParams{
				Name: s.job.Name, Stream: name, TargetTable: p.Table.Plain(), TsNs: start,
			}); err != nil {
				return nil, fmt.Errorf("record where stream %s starts: %w", name, err)
			}
		}
		out = append(out, pos)
	}
	return out, nil
}

// fillGap loads, as an ordinary historical run of each stream, what lies
// before the provider's replay window: the part of the gap since the
// committed positions that the live feed can no longer replay. It returns
// the positions to resume from (inside the window).
func (s *session) fillGap(ctx context.Context, positions []sdk.LivePosition) ([]sdk.LivePosition, error) {
	window := s.desc.LiveReplay
	now := s.o.Now()
	resumeAt := now.Add(-window + s.o.BackfillMargin)
	if window <= s.o.BackfillMargin {
		resumeAt = now // no replay to speak of: fill up to now
	}
	var gaps []int
	for i, p := range positions {
		if time.Unix(0, p.Time).Before(resumeAt) {
			gaps = append(gaps, i)
		}
	}
	if len(gaps) == 0 {
		return positions, nil
	}
	s.setState(StateBackfilling, nil)
	out := slices.Clone(positions)
	for _, i := range gaps {
		from := time.Unix(0, positions[i].Time).UTC()
		if err := s.backfillStream(ctx, positions[i].Stream, from, resumeAt); err != nil {
			return nil, err
		}
		out[i] = sdk.LivePosition{Stream: positions[i].Stream, Time: resumeAt.UnixNano()}
	}
	if err := dbq.New(s.o.Pool).CountLiveBackfill(s.dbCtx, s.job.Name); err != nil {
		s.log.Warn("could not count the backfill", "err", err)
	}
	return out, nil
}

// backfillStream runs the historical job of one stream over [from, to).
func (s *session) backfillStream(ctx context.Context, stream string, from, to time.Time) error {
	job := *s.job
	job.Mode, job.Live = jobspec.ModeHistory, jobspec.Live{}
	job.Name = s.job.Name + "-backfill-" + stream
	job.Source.Schema, job.Source.Schemas = stream, nil
	job.Source.Start, job.Source.End = from.Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano)
	job.Source.Params = maps.Clone(job.Source.Params)
	for _, name := range sdk.OutOfScope(s.desc.Params, false) {
		delete(job.Source.Params, name) // the feed's own (a heartbeat ...)
	}
	s.log.Info("the gap is longer than the live feed replays: filling it from history", "schema", stream, "from", job.Source.Start, "to", job.Source.End)
	p, err := s.o.Runner.Plan(ctx, &job)
	if err != nil {
		return fmt.Errorf("backfill %s: %w", stream, err)
	}
	p.LiveStream = s.job.Name
	sum, err := s.o.Runner.Run(ctx, p)
	if err != nil {
		if sum != nil {
			return fmt.Errorf("backfill %s (run %d): %w", stream, sum.RunID, err)
		}
		return fmt.Errorf("backfill %s: %w", stream, err)
	}
	s.log.Info("backfill done", "schema", stream, "run", sum.RunID, "rows", sum.Rows.Written())
	return nil
}

func (s *session) finish(err error) error {
	state, status := StateStopped, "stopped"
	if err != nil {
		state, status = StateFailed, "failed"
	}
	s.setState(state, err)
	var msg *string
	if err != nil {
		m := err.Error()
		msg = &m
	}
	c := &s.counts
	c.mu.Lock()
	p := dbq.FinishLiveRunParams{RunID: s.runID, Status: status, RowsInserted: c.inserted, RowsDeduplicated: c.deduplicated, RowsQuarantined: c.quarantined, RowsWarned: c.warn, Error: msg}
	c.mu.Unlock()
	if qerr := dbq.New(s.o.Pool).FinishLiveRun(s.dbCtx, p); qerr != nil {
		s.log.Warn("could not record the session's end", "run", s.runID, "err", qerr)
	}
	if err == nil {
		s.log.Info("stream stopped", "run", s.runID, "rows", p.RowsInserted)
	}
	return err
}
