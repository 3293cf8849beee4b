// Package queue puts ingest runs on River, the job queue in PostgreSQL that
// `hdi worker` processes take units from: one River job per unit, keyed by
// the unit and its target table so the same work is never queued twice,
// and a run row that says how far the run got.
//
// A unit job holds the unit (its key, range, symbols, files) and its run;
// the run row holds the job (without provider secrets), so any worker with
// the database URL, the plugins and its own provider credentials can load
// any unit. The unit's rows and its ledger row commit in one transaction,
// as with `hdi ingest`, so a unit taken twice (a worker presumed dead that
// was not) is still loaded once.
package queue

import (
	"cmp"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// River job kinds.
const (
	KindUnit     = "hdi.unit"
	KindSchedule = "hdi.schedule"
)

// DefaultQueue is the queue units go to unless the job or flag names one.
const DefaultQueue = river.QueueDefault

// JobQueue is the queue a job's units go to unless a flag names one: the
// job's queue, else DefaultQueue.
func JobQueue(job *jobspec.Job) string { return cmp.Or(job.Queue, DefaultQueue) }

// MaxAttempts is how often a unit is tried before it is given up (failed).
const MaxAttempts = 3

// UnitArgs is one unit of a queued run. The unit key and the target table
// make the job unique: queueing the same unit again, in any run, while it
// waits, runs or retries adds nothing.
type UnitArgs struct {
	RunID   int64    `json:"run_id"`
	UnitKey string   `json:"unit_key" river:"unique"`
	Table   string   `json:"table" river:"unique"`
	Stream  string   `json:"stream"`
	Force   bool     `json:"force,omitempty"`
	Unit    sdk.Unit `json:"unit"`
}

// Kind implements river.JobArgs.
func (UnitArgs) Kind() string { return KindUnit }

// ScheduleArgs is one tick of a scheduled job: the worker that takes it
// plans the job for the tick and queues its units as a run. Job and tick
// make it unique, so each tick is queued once.
type ScheduleArgs struct {
	Job  string    `json:"job" river:"unique"`
	Tick time.Time `json:"tick" river:"unique"`
	// Spec is the job as the leader read it (without provider secrets), so
	// the worker that plans it needs no jobs directory.
	Spec []byte `json:"spec"`
}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return KindSchedule }

// openStates are the River states of a job not finished: a unit in one of
// them is queued already.
var openStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// unitInsertOpts are the River options of a unit job. A finished unit may be
// queued again (the ledger decides whether it loads: --force reloads).
func unitInsertOpts(queue string) *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       queue,
		MaxAttempts: MaxAttempts,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: openStates},
	}
}

// insertClient is a River client that only inserts and cancels jobs.
func insertClient(pool *pgxpool.Pool) (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(pool), &river.Config{})
}

// ErrNoQueue is returned where River's tables are missing.
var ErrNoQueue = errors.New("the job queue is not set up: run `hdi migrate up`")
