package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/runner"
)

// Overrides change a job for one run: the flags of `hdi ingest --job` and
// the fields of POST /api/v1/runs. Nil (or empty) keeps the job's.
type Overrides struct {
	Start, End  *string
	Symbols     []string
	Table, Mode *string
	Concurrency *int
	MaxCost     *float64
	Params      map[string]string
	// Label names the fields in errors.
	Label Labels
}

// overrideKeys are the job keys each override sets.
var overrideKeys = map[string]string{
	"start": "source.start", "end": "source.end", "symbols": "source.symbols", "table": "target.table",
	"mode": "target.mode", "concurrency": "concurrency", "max-cost": "max_cost",
}

// Apply sets the overrides on job, fills in its defaults and validates it
// (dates resolved against now). A value at fault is a *FieldError naming
// the override; a fault of the job file itself names the field "job".
func (o Overrides) Apply(job *jobspec.Job, now time.Time) error {
	if job.Flags == nil {
		job.Flags = map[string]string{}
	}
	label := o.label()
	set := func(field string) { job.Flags[overrideKeys[field]] = label(field) }
	if o.Start != nil {
		job.Source.Start = *o.Start
		set("start")
	}
	if o.End != nil {
		job.Source.End = *o.End
		set("end")
	}
	if o.Symbols != nil {
		job.Source.Symbols = o.Symbols
		set("symbols")
	}
	if o.Table != nil {
		job.Target.Table = *o.Table
		set("table")
	}
	if o.Mode != nil {
		job.Target.Mode = *o.Mode
		set("mode")
	}
	if o.Concurrency != nil {
		job.Concurrency = *o.Concurrency
		set("concurrency")
	}
	if o.MaxCost != nil {
		job.MaxCost = o.MaxCost
		set("max-cost")
	}
	for k, v := range o.Params {
		if job.Source.Params == nil {
			job.Source.Params = map[string]string{}
		}
		job.Source.Params[k] = v
		job.Flags["source.params."+k] = label("param") + " " + k
	}
	job.ApplyDefaults()
	return fieldOf(job.Validate(now), label)
}

func (o Overrides) label() Labels {
	if o.Label == nil {
		return Flags
	}
	return o.Label
}

// fieldOf makes a job's error (jobspec's, which names the flag or field
// that set a key, else the job file's key) a *FieldError naming the
// override at fault, else "job". Other errors come back as they are.
func fieldOf(err error, label Labels) error {
	var es jobspec.Errors
	var e *jobspec.Error
	switch {
	case errors.As(err, &es) && len(es) > 0:
		e = es[0]
	case errors.As(err, &e):
	default:
		return err
	}
	field := "job"
	for f := range overrideKeys {
		if e.File == "" && strings.HasPrefix(e.Msg, label(f)+": ") {
			field = f
		}
	}
	if strings.HasPrefix(e.Msg, label("param")+" ") {
		field = "params"
	}
	return &FieldError{Field: field, Err: err}
}

// NamedJob is the job of that name (the jobs directory's, else built in),
// never a file path: for names that come over the network.
func (e *Env) NamedJob(name string, label Labels) (*jobspec.Job, error) {
	job, err := jobspec.FindName(e.JobsDir, name, e.JobOptions)
	if err != nil {
		return nil, &FieldError{Field: "job", Err: fmt.Errorf("%s: %w", label("job"), err)}
	}
	return job, nil
}

// Submitted is a run queued by Queue.
type Submitted struct {
	*queue.Queued
	// Warnings are the plan's (an end clamped to now).
	Warnings []string `json:"warnings"`
}

// Summary says what Queue did, in a line: the run and its units, or that
// nothing was left to queue and which run covers the work (the one holding
// its queued units, else the newest that loaded them): waiting for it
// waits for the work.
func (s *Submitted) Summary() string {
	already := fmt.Sprintf("%d already loaded", s.Loaded)
	if s.Queued.Queued > 0 {
		ids := make([]string, len(s.QueuedIn))
		for i, id := range s.QueuedIn {
			ids[i] = strconv.FormatInt(id, 10)
		}
		already += fmt.Sprintf(", %d already queued (run %s)", s.Queued.Queued, strings.Join(ids, ", "))
	}
	switch {
	case s.Created:
		return fmt.Sprintf("queued run %d: %d units on queue %s (%s); `hdi worker` loads them", s.RunID, s.Units, s.Queue, already)
	case s.RunID != 0:
		return fmt.Sprintf("nothing queued: %s; run %d covers them", already, s.RunID)
	}
	return "nothing queued: " + already
}

// Queue plans job here (the provider's plan, the rules and mapping
// against the target table, the cost against max_cost) and queues its
// units for `hdi worker`, as `hdi ingest --queue` does. The run records
// its files by absolute paths (runner.RunParameters), for workers
// elsewhere.
func (e *Env) Queue(ctx context.Context, job *jobspec.Job, opts queue.Options, label Labels) (*Submitted, error) {
	if opts.Queue != "" && !jobspec.ValidQueueName(opts.Queue) {
		return nil, &FieldError{Field: "queue", Err: fmt.Errorf("%s %q is not a queue name: %s", label("queue"), opts.Queue, jobspec.QueueNameHelp)}
	}
	r := e.NewRunner(runner.Options{Pool: e.Pool, Force: opts.Force})
	plans, err := r.PlanAll(ctx, job)
	if err != nil {
		return nil, fieldOf(err, label)
	}
	for _, p := range plans {
		if err := p.CheckCost(); err != nil {
			return nil, &FieldError{Err: err}
		}
	}
	q, err := queue.Enqueue(ctx, e.Pool, job, plans, opts)
	if err != nil {
		return nil, err
	}
	return &Submitted{Queued: q, Warnings: plans[0].Warnings}, nil
}

// RetryQuarantine re-validates a run's quarantined rows with the rules of
// its job as the job is now (jobName, else the run's own job, found by
// find, else the job the run recorded) and loads the rows that pass.
func (e *Env) RetryQuarantine(ctx context.Context, runID int64, jobName string, find func(string) (*jobspec.Job, error), label Labels) (runner.RetryResult, error) {
	run, err := dbq.New(e.Pool).GetRun(ctx, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return runner.RetryResult{}, queue.NoRun(runID)
	}
	if err != nil {
		return runner.RetryResult{}, fmt.Errorf("run %d: %w", runID, err)
	}
	name := jobName
	if name == "" {
		name = run.Job
	}
	job, err := find(name)
	if err != nil && jobName == "" {
		// An ad-hoc run's job has no file: the run recorded it.
		job, err = runner.RecordedJob(run.Parameters)
	}
	if err != nil {
		return runner.RetryResult{}, &FieldError{Field: "job", Err: fmt.Errorf("retry needs the run's job %q to read its rules: %w (give %s NAME)", name, err, label("job"))}
	}
	job.ApplyDefaults()
	return e.NewRunner(runner.Options{Pool: e.Pool}).RetryQuarantine(ctx, job, runID)
}
