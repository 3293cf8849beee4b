// Package worker is `hdi worker`: a process that takes queued units from
// River and loads each on the same exactly-once path as `hdi ingest`, beats
// a heartbeat so that the others can rescue its units if it dies, and, while
// it is River's leader, queues the runs of scheduled jobs at their ticks.
//
// Any number of workers may run, on any number of machines: each needs the
// database URL, the provider plugins and its providers' credentials.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/runner"
)

// DefaultRescueAfter is how long a worker may be silent before its units
// go to another worker.
const DefaultRescueAfter = 30 * time.Second

// Options configure a worker.
type Options struct {
	Pool *pgxpool.Pool
	// Queues to take units from (default: queue.DefaultQueue).
	Queues []string
	// Concurrency is how many units load at once (default 2).
	Concurrency int
	// RescueAfter is how long a worker may miss its heartbeat before the
	// units it holds are given to another (default DefaultRescueAfter).
	RescueAfter time.Duration
	// NewRunner builds a runner wired to the plugins and the configuration
	// with the given run options (Pool is set by the worker).
	NewRunner func(runner.Options) *runner.Runner
	// Scheduled are the jobs with a schedule this worker queues while it
	// is River's leader (every worker should have the same).
	Scheduled []*jobspec.Job
	// Version is hdi's, recorded with the worker.
	Version string
	Logger  *slog.Logger
	// Hostname and PID make the worker's identity (default: this process's).
	Hostname string
	PID      int
}

// Worker is one worker process.
type Worker struct {
	opts   Options
	id     string
	log    *slog.Logger
	client *river.Client[pgx.Tx]

	mu    sync.Mutex
	plans map[planKey]*planEntry
}

// New prepares a worker; Run starts it.
func New(opts Options) (*Worker, error) {
	if opts.Pool == nil || opts.NewRunner == nil {
		return nil, errors.New("worker: a pool and a runner constructor are required")
	}
	if len(opts.Queues) == 0 {
		opts.Queues = []string{queue.DefaultQueue}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = DefaultRescueAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	w := &Worker{opts: opts, id: opts.Hostname + ":" + strconv.Itoa(opts.PID), plans: map[planKey]*planEntry{}}
	w.log = opts.Logger.With("worker", w.id)
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &unitWorker{w: w}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &scheduleWorker{w: w}); err != nil {
		return nil, err
	}
	periodic, err := w.periodicJobs()
	if err != nil {
		return nil, err
	}
	queues := map[string]river.QueueConfig{}
	for _, q := range opts.Queues {
		if !jobspec.ValidQueueName(q) {
			return nil, fmt.Errorf("worker: %q is not a queue name: %s", q, jobspec.QueueNameHelp)
		}
		queues[q] = river.QueueConfig{MaxWorkers: opts.Concurrency}
	}
	w.client, err = river.NewClient(riverpgxv5.New(opts.Pool), &river.Config{
		ID:           w.id,
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       slog.New(warnOnly{opts.Logger.Handler()}),
		// Planning a scheduled run asks the provider for estimates.
		JobTimeout:           10 * time.Minute,
		RescueStuckJobsAfter: 15 * time.Minute,
		// Runs are finished from their jobs: keep them past a long weekend.
		CompletedJobRetentionPeriod: 7 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return w, nil
}

// ID is the worker's identity, host:pid.
func (w *Worker) ID() string { return w.id }

// Run works until ctx ends, then stops: units under way roll back and go
// back to the queue for another worker, and Run returns nil.
func (w *Worker) Run(ctx context.Context) error {
	q := dbq.New(w.opts.Pool)
	if err := q.RegisterWorker(ctx, w.registration()); err != nil {
		return fmt.Errorf("worker: register (is the database migrated? run `hdi migrate up`): %w", err)
	}
	events, cancelEvents := w.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	defer cancelEvents()
	if err := w.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	w.log.Info("worker started", "queues", w.opts.Queues, "concurrency", w.opts.Concurrency,
		"rescue_after", w.opts.RescueAfter, "scheduled_jobs", len(w.opts.Scheduled), "version", w.opts.Version)

	beat := time.NewTicker(heartbeatEvery(w.opts.RescueAfter))
	defer beat.Stop()
	w.tend(ctx)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case ev := <-events:
			if ev != nil && ev.Job != nil && ev.Job.Kind == queue.KindUnit {
				w.finishRunOf(ctx, ev)
			}
		case <-beat.C:
			w.tend(ctx)
		}
	}
	w.log.Info("worker stopping: units under way roll back and go back to the queue")
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := w.client.StopAndCancel(stopCtx)
	if uerr := q.UnregisterWorker(stopCtx, w.id); uerr != nil {
		w.log.Warn("could not remove the worker's row (it expires)", "err", uerr)
	}
	if err != nil {
		return fmt.Errorf("worker: stop: %w", err)
	}
	w.log.Info("worker stopped")
	return nil
}

func (w *Worker) registration() dbq.RegisterWorkerParams {
	return dbq.RegisterWorkerParams{
		WorkerID: w.id, Host: w.opts.Hostname, Pid: int32(w.opts.PID), Queues: w.opts.Queues,
		Concurrency: int32(w.opts.Concurrency), Version: w.opts.Version,
	}
}

// heartbeatEvery is the heartbeat period: six beats fit in the rescue time.
func heartbeatEvery(rescueAfter time.Duration) time.Duration {
	return min(max(rescueAfter/6, 500*time.Millisecond), 10*time.Second)
}

// tend is the worker's periodic duty: its heartbeat, the rescue of units
// held by dead workers, and the end of runs whose units have all ended.
func (w *Worker) tend(ctx context.Context) {
	q := dbq.New(w.opts.Pool)
	n, err := q.HeartbeatWorker(ctx, w.id)
	if err == nil && n == 0 {
		err = q.RegisterWorker(ctx, w.registration())
	}
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("heartbeat failed (the database may be restarting; retrying)", "err", err)
		}
		return
	}
	secs := w.opts.RescueAfter.Seconds()
	rescued, err := q.RescueUnitsOfDeadWorkers(ctx, secs)
	if err != nil {
		w.log.Warn("rescue of dead workers' units failed", "err", err)
	}
	for _, r := range rescued {
		w.log.Warn("rescued a unit of a dead worker", "unit", r.UnitKey, "dead_worker", r.Worker, "attempt", r.Attempt, "now", r.State)
	}
	if err := queue.FinishOpen(ctx, w.opts.Pool); err != nil && ctx.Err() == nil {
		w.log.Warn("could not finish runs", "err", err)
	}
	if err := q.ForgetDeadWorkers(ctx, secs); err != nil && ctx.Err() == nil {
		w.log.Warn("could not forget dead workers", "err", err)
	}
}

// finishRunOf ends the run of a unit job that just ended, when it was the
// run's last.
func (w *Worker) finishRunOf(ctx context.Context, ev *river.Event) {
	var a queue.UnitArgs
	if err := json.Unmarshal(ev.Job.EncodedArgs, &a); err != nil {
		return
	}
	p, finished, err := queue.Finish(ctx, w.opts.Pool, a.RunID)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("could not finish the run", "run", a.RunID, "err", err)
		}
		return
	}
	if finished {
		w.log.Info("run finished", "run", a.RunID, "status", p.Status, "units", p.Units, "failed", p.Failed)
	}
}

// warnOnly passes River's own warnings and errors to hdi's log, not its
// per-job chatter.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(g string) slog.Handler      { return warnOnly{h.Handler.WithGroup(g)} }
