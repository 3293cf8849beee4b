package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/runner"
)

// unitWorker loads one queued unit.
type unitWorker struct {
	river.WorkerDefaults[queue.UnitArgs]
	w *Worker
}

// Timeout: none. A unit may load for hours; a worker that dies is found by
// its heartbeat instead (RescueUnitsOfDeadWorkers), not by a deadline.
func (*unitWorker) Timeout(*river.Job[queue.UnitArgs]) time.Duration { return -1 }

func (uw *unitWorker) Work(ctx context.Context, job *river.Job[queue.UnitArgs]) error {
	w, a := uw.w, job.Args
	log := w.log.With("run", a.RunID, "unit", a.UnitKey, "attempt", job.Attempt)
	p, r, err := w.planned(ctx, a)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr // stopped: River puts the unit back as it was
		}
		log.Error("cannot prepare the unit", "err", err)
		return err // perhaps this machine's setup: another attempt, maybe elsewhere
	}
	if err := dbq.New(w.opts.Pool).StartQueuedRun(ctx, a.RunID); err != nil {
		return err
	}
	start := time.Now()
	res := r.RunUnit(ctx, p, a.RunID, a.Unit)
	switch res.Outcome {
	case runner.OutcomeDone:
		log.Info("unit loaded", "table", a.Table, "inserted", res.Counts.Inserted, "updated", res.Counts.Updated,
			"deduplicated", res.Counts.Deduplicated, "quarantined", res.Counts.Quarantined, "duration", time.Since(start).Round(time.Millisecond))
		return nil
	case runner.OutcomeSkipped:
		log.Info("unit already loaded (by another run): skipped", "table", a.Table)
		return nil
	case runner.OutcomeInterrupted:
		// River puts a unit stopped by the worker's shutdown back in the
		// queue as it was; one stopped by `hdi runs cancel` is cancelled.
		if err := ctx.Err(); err != nil {
			return err
		}
		return context.Canceled
	}
	retry, _ := runner.Retryable(res.Err)
	final := !retry || job.Attempt >= job.MaxAttempts
	if final {
		if err := r.RecordFailure(ctx, p, a.RunID, a.Unit, res.Err); err != nil {
			log.Error("could not record the unit's failure", "err", err)
		}
	}
	if !retry {
		log.Error("unit failed (not retried: the error is permanent)", "err", res.Err)
		return river.JobCancel(res.Err)
	}
	if final {
		log.Error("unit failed, no attempt left", "err", res.Err)
	} else {
		log.Warn("unit failed, River retries it", "err", res.Err, "attempts_left", job.MaxAttempts-job.Attempt)
	}
	return res.Err
}

// planKey names a queued run's prepared plans, with or without --force.
type planKey struct {
	run   int64
	force bool
}

type planEntry struct {
	once  sync.Once
	job   string
	plans []*runner.Planned // one per stream
	// runners run the plans, one each: a rule's failures are logged once
	// per stream.
	runners []*runner.Runner
	err     error
}

// maxPlans bounds the runs a worker keeps plans of (a few at a time).
const maxPlans = 64

// planned prepares what loading a unit needs, once per run: the run's
// recorded job, planned offline (no estimates, no API calls) for each of
// its streams, its rules compiled and its target tables described; the
// unit's stream picks its plan. The unit itself comes with the job.
func (w *Worker) planned(ctx context.Context, a queue.UnitArgs) (*runner.Planned, *runner.Runner, error) {
	k := planKey{a.RunID, a.Force}
	w.mu.Lock()
	e, ok := w.plans[k]
	if !ok {
		if len(w.plans) >= maxPlans {
			clear(w.plans)
		}
		e = &planEntry{}
		w.plans[k] = e
	}
	w.mu.Unlock()
	e.once.Do(func() { e.err = w.plan(ctx, a, e) })
	err := e.err
	if err == nil {
		for i, p := range e.plans {
			if p.Stream.Name == a.Stream {
				return p, e.runners[i], nil
			}
		}
		err = fmt.Errorf("run %d: job %s has no stream %q here", a.RunID, e.job, a.Stream)
	}
	w.mu.Lock()
	delete(w.plans, k) // try again next time
	w.mu.Unlock()
	return nil, nil, err
}

// plan fills e with the plans of a's run.
func (w *Worker) plan(ctx context.Context, a queue.UnitArgs, e *planEntry) error {
	run, err := dbq.New(w.opts.Pool).GetRun(ctx, a.RunID)
	if err != nil {
		return fmt.Errorf("run %d: %w", a.RunID, err)
	}
	job, err := runner.RecordedJob(run.Parameters)
	if err != nil {
		return fmt.Errorf("run %d: %w", a.RunID, err)
	}
	e.job = job.Name
	opts := runner.Options{Pool: w.opts.Pool, Offline: true, Force: a.Force}
	r := w.opts.NewRunner(opts)
	if e.plans, err = r.PlanAll(ctx, job); err != nil {
		return fmt.Errorf("run %d: plan job %s: %w", a.RunID, job.Name, err)
	}
	for i := range e.plans {
		if i > 0 {
			r = w.opts.NewRunner(opts)
		}
		e.runners = append(e.runners, r)
	}
	return nil
}
