package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/runner"
)

// Options say where and how a run is queued.
type Options struct {
	// Queue is the worker queue (default: the job's queue, else DefaultQueue).
	Queue string
	// Force queues units the ledger says are loaded (they reload).
	Force bool
	// Tick is a scheduled run's tick: one run per job and tick.
	Tick time.Time
}

// Queued is what Enqueue did.
type Queued struct {
	// RunID is the run to follow: the run Enqueue created (Created) or,
	// when every unit was queued or loaded already, the newest run that
	// holds the queued ones, else the newest run that loaded them (one
	// that succeeded first), so that waiting for it waits for the work;
	// 0 for a scheduled tick that has its run already.
	RunID int64 `json:"run_id"`
	// Created says RunID is a new run, holding Units units.
	Created bool `json:"created"`
	// Units is how many unit jobs the run has.
	Units int `json:"units"`
	// Loaded counts units left out because the ledger says they are loaded.
	Loaded int `json:"already_loaded"`
	// Queued counts units left out because they are queued already, in the
	// runs listed in QueuedIn.
	Queued   int     `json:"already_queued"`
	QueuedIn []int64 `json:"already_queued_in,omitempty"`
	// TickTaken says a scheduled tick already has its run.
	TickTaken bool `json:"tick_taken,omitempty"`
	// Queue is the worker queue the units went to.
	Queue string `json:"queue"`
}

// Enqueue records a queued run of job, planned as plans (one per stream),
// and inserts one unit job per unit the ledger does not have, in one
// transaction: the run and its jobs appear together or not at all. When
// every unit is loaded or queued already, nothing is written, and RunID
// names the run that covers them.
func Enqueue(ctx context.Context, pool *pgxpool.Pool, job *jobspec.Job, plans []*runner.Planned, opts Options) (*Queued, error) {
	if len(plans) == 0 {
		return nil, errors.New("queue: nothing planned")
	}
	q := &Queued{Queue: cmp.Or(opts.Queue, JobQueue(job))}
	var todo []UnitArgs
	loadedKeys := map[string][]string{} // by table
	for _, p := range plans {
		var loaded []bool // nil: every unit loads
		if !p.Reload(opts.Force) {
			var err error
			if loaded, err = p.LoadedUnits(ctx, pool); err != nil {
				return nil, err
			}
		}
		for i, u := range p.Units {
			if loaded != nil && loaded[i] {
				q.Loaded++
				t := p.Table.Plain()
				loadedKeys[t] = append(loadedKeys[t], u.Key)
				if u.WholeKey != "" {
					loadedKeys[t] = append(loadedKeys[t], u.WholeKey) // loaded in one piece
				}
				continue
			}
			todo = append(todo, UnitArgs{UnitKey: u.Key, Table: p.Table.Plain(), Stream: p.Stream.Name, Force: opts.Force, Unit: u})
		}
	}
	if len(todo) == 0 {
		var err error
		q.RunID, err = newestLoader(ctx, pool, loadedKeys)
		return q, err
	}
	// The run records the job as written (not one stream's copy of it), and
	// every stream's units.
	rec := *plans[0]
	rec.Job = job
	units := 0
	for _, p := range plans {
		units += len(p.Units)
	}
	params, err := runner.RunParameters(&rec, units)
	if err != nil {
		return nil, fmt.Errorf("queue: record the run: %w", err)
	}
	client, err := insertClient(pool)
	if err != nil {
		return nil, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var tick *time.Time
	if !opts.Tick.IsZero() {
		tick = &opts.Tick
	}
	runID, err := dbq.New(tx).CreateQueuedRun(ctx, dbq.CreateQueuedRunParams{
		Job: job.Name, Parameters: params, Queue: &q.Queue, ScheduleTick: tick, UnitsTotal: int32(len(todo)), UnitsSkipped: int32(q.Loaded),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		q.TickTaken = true
		return q, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue: record the run (is the database migrated? run `hdi migrate up`): %w", err)
	}
	ins := make([]river.InsertManyParams, len(todo))
	for i := range todo {
		todo[i].RunID = runID
		ins[i] = river.InsertManyParams{Args: todo[i], InsertOpts: unitInsertOpts(q.Queue)}
	}
	res, err := client.InsertManyTx(ctx, tx, ins)
	if err != nil {
		return nil, fmt.Errorf("queue: insert the unit jobs: %w", err)
	}
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			q.Units++
			continue
		}
		q.Queued++
		var other UnitArgs
		if json.Unmarshal(r.Job.EncodedArgs, &other) == nil && !slices.Contains(q.QueuedIn, other.RunID) {
			q.QueuedIn = append(q.QueuedIn, other.RunID)
		}
	}
	slices.Sort(q.QueuedIn)
	if q.Units == 0 {
		if n := len(q.QueuedIn); n > 0 {
			q.RunID = q.QueuedIn[n-1]
		}
		return q, nil // the deferred rollback drops the empty run
	}
	if err := dbq.New(tx).SetQueuedRunUnits(ctx, dbq.SetQueuedRunUnitsParams{RunID: runID, UnitsTotal: int32(q.Units), UnitsSkipped: int32(q.Loaded)}); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("queue: commit: %w", err)
	}
	q.RunID, q.Created = runID, true
	return q, nil
}

// newestLoader is the run to follow for units the ledger says are loaded
// (keys by table): of the runs that loaded them, the newest that
// succeeded, else the newest.
func newestLoader(ctx context.Context, pool *pgxpool.Pool, keys map[string][]string) (int64, error) {
	var best dbq.NewestLoadingRunRow
	for table, ks := range keys {
		r, err := dbq.New(pool).NewestLoadingRun(ctx, dbq.NewestLoadingRunParams{UnitKeys: ks, TargetTable: table})
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("queue: the runs that loaded the units: %w", err)
		}
		if r.Succeeded && !best.Succeeded || r.Succeeded == best.Succeeded && r.RunID > best.RunID {
			best = r
		}
	}
	return best.RunID, nil
}
