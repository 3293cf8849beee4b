package worker

import (
	"context"
	"encoding/json"
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

// planKey names a prepared plan: a queued run's job, for one stream, with
// or without --force.
type planKey struct {
	run    int64
	stream string
	force  bool
}

type planEntry struct {
	once sync.Once
	p    *runner.Planned
	r    *runner.Runner
	err  error
}

// maxPlans bounds the plans a worker keeps (a few runs at a time).
const maxPlans = 64

// planned prepares what loading a unit needs, once per run and stream: the
// run's recorded job, planned offline (no estimates, no API calls) for its
// stream, its rules compiled and its target table described. The unit
// itself comes with the job.
func (w *Worker) planned(ctx context.Context, a queue.UnitArgs) (*runner.Planned, *runner.Runner, error) {
	k := planKey{a.RunID, a.Stream, a.Force}
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
	e.once.Do(func() { e.p, e.r, e.err = w.plan(ctx, a) })
	if e.err != nil {
		w.mu.Lock()
		delete(w.plans, k) // try again next time
		w.mu.Unlock()
	}
	return e.p, e.r, e.err
}

func (w *Worker) plan(ctx context.Context, a queue.UnitArgs) (*runner.Planned, *runner.Runner, error) {
	run, err := dbq.New(w.opts.Pool).GetRun(ctx, a.RunID)
	if err != nil {
		return nil, nil, fmt.Errorf("run %d: %w", a.RunID, err)
	}
	job, err := runner.RecordedJob(run.Parameters)
	if err != nil {
		return nil, nil, fmt.Errorf("run %d: %w", a.RunID, err)
	}
	r := w.opts.NewRunner(runner.Options{Pool: w.opts.Pool, Offline: true, Force: a.Force})
	plans, err := r.PlanAll(ctx, job)
	if err != nil {
		return nil, nil, fmt.Errorf("run %d: plan job %s: %w", a.RunID, job.Name, err)
	}
	for _, p := range plans {
		if p.Stream.Name == a.Stream {
			return p, r, nil
		}
	}
	return nil, nil, fmt.Errorf("run %d: job %s has no stream %q here", a.RunID, job.Name, a.Stream)
}

func unmarshalArgs(b []byte, v any) error { return json.Unmarshal(b, v) }
