package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbq"
)

// Unit states as `hdi runs show` and the API report them.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateRetrying  = "retrying"
	StateDone      = "done"
	StateSkipped   = "skipped" // loaded by another run meanwhile
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// ErrNoRun is the error for a run id no run has.
var ErrNoRun = errors.New("no such run")

// ErrNotCancellable refuses to cancel a run that was not queued or has
// finished.
var ErrNotCancellable = errors.New("the run cannot be cancelled")

// NoRun is ErrNoRun for run id, with what to do.
func NoRun(id int64) error {
	return &runError{ErrNoRun, fmt.Sprintf("no run %d: see `hdi runs list`", id)}
}

// runError is a message of its own that is one of the errors above.
type runError struct {
	kind error
	msg  string
}

func (e *runError) Error() string        { return e.msg }
func (e *runError) Is(target error) bool { return target == e.kind }

// Progress is how far a queued run got.
type Progress struct {
	RunID  int64  `json:"run_id"`
	Status string `json:"status"` // the runs row's
	// Queue is the run's worker queue; empty for a run loaded by one
	// `hdi ingest` process (the counts below are then zero).
	Queue string `json:"queue,omitempty"`
	Units int    `json:"units"`
	// Per state (see the State constants); Done counts skipped units too.
	Queued    int `json:"queued"`
	Running   int `json:"running"`
	Retrying  int `json:"retrying"`
	Done      int `json:"done"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

// Open reports whether some unit has not ended yet.
func (p *Progress) Open() bool { return p.Queued+p.Running+p.Retrying > 0 }

// RunProgress counts a queued run's units per state.
func RunProgress(ctx context.Context, pool *pgxpool.Pool, runID int64) (*Progress, error) {
	q := dbq.New(pool)
	run, err := q.GetRun(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NoRun(runID)
	}
	if err != nil {
		return nil, err
	}
	p := &Progress{RunID: runID, Status: run.Status}
	if run.Queue == nil {
		return p, nil // loaded by one process: the run row says it all
	}
	p.Queue = *run.Queue
	counts, err := q.RunJobCounts(ctx, runID)
	if err != nil {
		return nil, err
	}
	cancelled := run.Status == "cancelled"
	for _, c := range counts {
		n := int(c.Jobs)
		p.Units += n
		switch c.State {
		case "available", "pending", "scheduled":
			p.Queued += n
		case "retryable":
			p.Retrying += n
		case "running":
			p.Running += n
		case "completed":
			p.Done += n
		case "cancelled":
			if cancelled {
				p.Cancelled += n
			} else {
				p.Failed += n // a permanent error cancels a unit's retries
			}
		case "discarded":
			p.Failed += n
		}
	}
	return p, nil
}

// Finish writes the end of a queued run whose units have all ended: its
// status (succeeded, failed, or cancelled as asked) and its counts from the
// ledger. It reports whether the run is finished; a run with units still
// queued or running is left as it is (marked running once one started). A
// run that was not queued is only read: it is finished unless running.
func Finish(ctx context.Context, pool *pgxpool.Pool, runID int64) (*Progress, bool, error) {
	p, err := RunProgress(ctx, pool, runID)
	if err != nil {
		return nil, false, err
	}
	if p.Queue == "" {
		return p, p.Status != "running", nil
	}
	q := dbq.New(pool)
	if p.Open() {
		if p.Running+p.Done+p.Failed+p.Retrying > 0 {
			if err := q.StartQueuedRun(ctx, runID); err != nil {
				return p, false, err
			}
		}
		return p, false, nil
	}
	status, msg := "succeeded", (*string)(nil)
	if p.Failed > 0 {
		status = "failed"
		m := fmt.Sprintf("%d of %d units failed: see `hdi runs show %d`", p.Failed, p.Units, runID)
		msg = &m
	}
	err = q.FinishQueuedRun(ctx, dbq.FinishQueuedRunParams{
		RunID: runID, Status: status, UnitsCompleted: int64(p.Done), UnitsFailed: int32(p.Failed), Error: msg,
	})
	if err != nil {
		return p, false, fmt.Errorf("finish run %d: %w", runID, err)
	}
	run, err := q.GetRun(ctx, runID)
	if err != nil {
		return p, false, err
	}
	p.Status = run.Status
	return p, true, nil
}

// FinishOpen finishes every open queued run whose units have all ended.
func FinishOpen(ctx context.Context, pool *pgxpool.Pool) error {
	ids, err := dbq.New(pool).OpenQueuedRuns(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, _, err := Finish(ctx, pool, id); err != nil {
			return err
		}
	}
	return nil
}

// Cancel cancels a queued run: units not started are dropped, units under
// way are stopped (their transactions roll back). It returns how many unit
// jobs it cancelled; the run finishes once none runs any more.
func Cancel(ctx context.Context, pool *pgxpool.Pool, runID int64) (int, error) {
	q := dbq.New(pool)
	if _, err := q.CancelQueuedRun(ctx, runID); errors.Is(err, pgx.ErrNoRows) {
		run, gerr := q.GetRun(ctx, runID)
		switch {
		case errors.Is(gerr, pgx.ErrNoRows):
			return 0, NoRun(runID)
		case gerr != nil:
			return 0, gerr
		case run.Queue == nil:
			return 0, &runError{ErrNotCancellable, fmt.Sprintf("run %d was not queued: stop its `hdi ingest` with Ctrl-C", runID)}
		default:
			return 0, &runError{ErrNotCancellable, fmt.Sprintf("run %d has already finished (%s)", runID, run.Status)}
		}
	} else if err != nil {
		return 0, err
	}
	ids, err := q.RunUnitJobIDs(ctx, runID)
	if err != nil {
		return 0, err
	}
	client, err := insertClient(pool)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := client.JobCancel(ctx, id); err != nil {
			return 0, fmt.Errorf("cancel unit job %d: %w", id, err)
		}
	}
	_, _, err = Finish(ctx, pool, runID)
	return len(ids), err
}

// UnitState is one unit of a queued run, as `hdi runs show` lists it.
type UnitState struct {
	Key         string              `json:"unit_key"`
	Table       string              `json:"target_table"`
	State       string              `json:"state"`
	Worker      string              `json:"worker,omitempty"`
	Attempt     int                 `json:"attempt"`
	MaxAttempts int                 `json:"max_attempts"`
	Error       string              `json:"error,omitempty"`
	LoadedBy    int64               `json:"loaded_by_run,omitempty"`
	NextAttempt *time.Time          `json:"next_attempt,omitempty"`
	Ledger      *dbq.RunUnitJobsRow `json:"-"`
}

// Units lists a queued run's units with their states.
func Units(ctx context.Context, pool *pgxpool.Pool, runID int64) ([]UnitState, error) {
	q := dbq.New(pool)
	run, err := q.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	rows, err := q.RunUnitJobs(ctx, runID)
	if err != nil {
		return nil, err
	}
	out := make([]UnitState, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		u := UnitState{Key: r.UnitKey, Table: r.TargetTable, Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts), Ledger: r}
		switch r.State {
		case "available", "pending", "scheduled", "retryable":
			u.State = StateQueued
			if r.Attempt > 0 {
				u.State, u.Error = StateRetrying, r.LastError
				at := r.ScheduledAt
				u.NextAttempt = &at
			}
		case "running":
			u.State, u.Worker = StateRunning, r.Worker
		case "completed":
			u.State, u.Worker = StateDone, r.Worker
			if r.LedgerRunID != nil && *r.LedgerRunID != runID {
				u.State, u.LoadedBy = StateSkipped, *r.LedgerRunID
			}
		case "cancelled":
			u.State, u.Error = StateCancelled, r.LastError
			if run.Status != "cancelled" {
				u.State = StateFailed
			}
		case "discarded":
			u.State, u.Error, u.Worker = StateFailed, r.LastError, r.Worker
		}
		out = append(out, u)
	}
	return out, nil
}
