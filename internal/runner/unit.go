package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/load"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/rules"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Outcome is how a unit ended.
type Outcome int

// Unit outcomes.
const (
	OutcomeDone    Outcome = iota + 1 // loaded and committed
	OutcomeSkipped                    // already loaded by an earlier run
	OutcomeFailed                     // rolled back
)

// UnitResult is one unit's end.
type UnitResult struct {
	Key     string
	Outcome Outcome
	Counts  load.Counts
	Warned  int64
	// RuleCounts are the failures per rule (error and warn) in the unit.
	RuleCounts map[string]int64
	Err        error
}

// unitRun is the state of one unit while its provider streams it.
type unitRun struct {
	r       *Runner
	p       *Planned
	runID   int64
	unit    sdk.Unit
	tx      *load.UnitTx
	plan    *mapping.Plan
	checker *rules.Checker

	mappings []sdk.SymbolMapping
	res      UnitResult
	ignored  map[string]bool // side streams already warned about
}

func (r *Runner) runUnit(ctx context.Context, p *Planned, runID int64, u sdk.Unit) UnitResult {
	res := UnitResult{Key: u.Key, RuleCounts: map[string]int64{}}
	if !r.opts.Force {
		done, err := load.Done(ctx, r.opts.Pool, u.Key)
		if err != nil {
			res.Outcome, res.Err = OutcomeFailed, err
			return res
		}
		if done {
			res.Outcome = OutcomeSkipped
			return res
		}
	}
	info := p.unitInfo(runID, u, r.opts.Force)
	tx, err := load.BeginUnit(ctx, r.opts.Pool, info)
	if errors.Is(err, load.ErrAlreadyDone) {
		res.Outcome = OutcomeSkipped // another run finished it meanwhile
		return res
	}
	if err != nil {
		res.Outcome, res.Err = OutcomeFailed, err
		return res
	}
	ur := &unitRun{r: r, p: p, runID: runID, unit: u, tx: tx, res: res, ignored: map[string]bool{}}
	ur.checker = p.Rules.NewUnit(info.Start, info.End)
	if ur.plan, err = mapping.NewPlan(p.Job.Mapping, p.Stream.Schema, p.Table, info.Dataset); err == nil {
		err = ur.fetch(ctx)
	}
	if err == nil {
		err = ur.finish(ctx)
	}
	if err != nil {
		_ = tx.Rollback(ctx)
		ur.res.Outcome, ur.res.Err = OutcomeFailed, err
		ur.res.Counts = load.Counts{}
		return ur.res
	}
	ur.res.Outcome = OutcomeDone
	return ur.res
}

func (ur *unitRun) fetch(ctx context.Context) error {
	req := &sdk.FetchRequest{Job: ur.p.SDKJob, Unit: ur.unit}
	if err := ur.p.Provider.Fetch(ctx, req, ur); err != nil {
		var recv *sdk.ReceiverError
		if errors.As(err, &recv) {
			return recv.Err // our own error, raised while handling a message
		}
		return err
	}
	return nil
}

// finish checks the quarantine threshold, writes the symbology and commits.
func (ur *unitRun) finish(ctx context.Context) error {
	c := ur.tx.Counts()
	total := c.Loaded + c.Deduplicated + c.Quarantined
	if maxPct := ur.p.Job.Quarantine.MaxPercent; maxPct > 0 && total > 0 {
		if pct := 100 * float64(c.Quarantined) / float64(total); pct > maxPct {
			return fmt.Errorf("unit %s: %.1f%% of its %d rows were quarantined, over the job's quarantine.max_percent of %g%%: nothing of it is loaded; fix the rules or the data, then re-run",
				ur.unit.Key, pct, total, maxPct)
		}
	}
	if len(ur.mappings) > 0 {
		if err := ur.tx.Exec(ctx, func(tx pgx.Tx) error { return writeMappings(ctx, tx, ur.runID, ur.mappings) }); err != nil {
			return err
		}
	}
	ur.res.Counts = c
	return ur.tx.Commit(ctx, c)
}

// Batch validates, quarantines, maps and loads one batch (sdk.Sender).
func (ur *unitRun) Batch(stream string, rec arrow.RecordBatch) error {
	if stopped(context.Background(), ur.r.opts.Stop) {
		return ErrInterrupted
	}
	if stream != ur.p.Stream.Name {
		if !ur.ignored[stream] {
			ur.ignored[stream] = true
			ur.r.log.Warn("provider sent a stream this job does not load; its batches are ignored", "unit", ur.unit.Key, "stream", stream, "job_stream", ur.p.Stream.Name)
		}
		return nil
	}
	ctx := context.Background()
	res, err := ur.checker.Check(rec)
	if err != nil {
		return fmt.Errorf("unit %s: validate: %w", ur.unit.Key, err)
	}
	for _, rc := range res.Rules {
		ur.res.RuleCounts[rc.Name] += int64(rc.Failed)
		ur.r.noteRule(rc)
	}
	ur.res.Warned += int64(res.WarnedRows)
	if len(res.Rejections) > 0 {
		rows := make([]load.QuarantineRow, 0, len(res.Rejections))
		for _, rj := range res.Rejections {
			record, err := rules.RowJSON(rec, rj.Row)
			if err != nil {
				return fmt.Errorf("unit %s: quarantine row %d: %w", ur.unit.Key, rj.Row, err)
			}
			rows = append(rows, load.QuarantineRow{
				Rule: strings.Join(rj.Rules, ","), Severity: "error",
				Message: strings.Join(rj.Messages, "; "), Record: record,
			})
		}
		if err := ur.tx.Quarantine(ctx, rows); err != nil {
			return err
		}
	}
	batch, err := ur.plan.Apply(rec)
	if err != nil {
		return fmt.Errorf("unit %s: map: %w", ur.unit.Key, err)
	}
	_, _, err = ur.tx.WriteBatch(ctx, batch, res.Rejected)
	return err
}

// Mappings keeps symbol mappings for the unit's commit (sdk.Sender).
func (ur *unitRun) Mappings(m []sdk.SymbolMapping) error {
	ur.mappings = append(ur.mappings, m...)
	return nil
}

// Progress forwards provider progress (sdk.Sender).
func (ur *unitRun) Progress(p sdk.Progress) error {
	ur.r.opts.Progress.UnitProgress(ur.unit.Key, p)
	return nil
}

// Warn logs a provider warning (sdk.Sender).
func (ur *unitRun) Warn(msg string) error {
	ur.r.log.Warn("provider: "+msg, "unit", ur.unit.Key)
	return nil
}

// RowError quarantines a source record the provider could not convert
// (sdk.Sender).
func (ur *unitRun) RowError(e sdk.RowError) error {
	record, err := json.Marshal(map[string]any{"file": e.File, "line": e.Line, "raw": e.Raw, "stream": e.Stream})
	if err != nil {
		return err
	}
	ur.res.RuleCounts["source"]++
	return ur.tx.Quarantine(context.Background(), []load.QuarantineRow{{Rule: "source", Severity: "error", Message: e.Error(), Record: record}})
}
