package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/load"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/rules"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Outcome is how a unit ended.
type Outcome int

// Unit outcomes.
const (
	OutcomeDone        Outcome = iota + 1 // loaded and committed
	OutcomeSkipped                        // already loaded by an earlier run
	OutcomeFailed                         // rolled back
	OutcomeInterrupted                    // stopped (Ctrl-C) and rolled back: a re-run loads it
)

// UnitResult is one unit's end.
type UnitResult struct {
	Key     string
	Outcome Outcome
	Counts  load.Counts
	// RuleCounts are the failures per rule (error and warn) in the unit.
	RuleCounts map[string]int64
	Err        error
}

// unitRun is the state of one unit while its provider streams it.
type unitRun struct {
	r      *Runner
	p      *Planned
	prov   sdk.Provider // the provider instance of this attempt
	runID  int64
	unit   sdk.Unit
	tx     *load.UnitTx
	loader *StreamLoader

	// ctx is the fetch's context: cancelling it (a second Ctrl-C) aborts the
	// statement in flight, and the unit rolls back.
	ctx      context.Context
	mappings []sdk.SymbolMapping
	res      UnitResult
	ignored  map[string]bool // side streams already warned about

	// The loader goroutine validates, quarantines, maps and COPYs the
	// batches the provider streams, while the next batches arrive and are
	// decoded: the unit's transaction is used by it alone (see startLoader).
	queue      chan loadItem
	loaderDone chan struct{} // closed when the loader has exited
	failed     chan struct{} // closed when the loader has failed
	loadErr    error         // the loader's first error (read after failed or loaderDone)
	abort      atomic.Bool   // tells the loader to drop what is queued
}

// loadItem is a batch (retained) or a row error for the loader.
type loadItem struct {
	rec    arrow.RecordBatch
	rowErr *sdk.RowError
}

// batchBytes is the Arrow size of the record batches the runner asks
// providers for. Each batch is one COPY in one savepoint: larger batches
// cost PostgreSQL fewer COPY starts and subtransactions (8192-row batches of
// trades loaded ~15% slower than one COPY, see docs/BENCHMARKS.md), smaller
// ones bound memory; sized in bytes, wide rows (mbp-10) get fewer rows.
const batchBytes = 4 << 20

// batchRows is how many rows of schema fit in batchBytes (between
// sdk.DefaultBatchRows and 64k; the default when the schema is unknown).
func batchRows(schema *arrow.Schema) int {
	if schema == nil {
		return 0
	}
	width := 0
	for _, f := range schema.Fields() {
		if fw, ok := f.Type.(arrow.FixedWidthDataType); ok {
			width += max(fw.BitWidth()/8, 1)
		} else {
			width += 16 // strings: offsets and a short value
		}
	}
	return min(max(batchBytes/max(width, 1), sdk.DefaultBatchRows), 64<<10)
}

// BatchRows is how many rows of p's stream fit in the runner's Arrow
// batches (0: the provider's default).
func (p *Planned) BatchRows() int { return batchRows(p.Stream.Schema) }

// loadQueue is how many batches may wait for the loader: with the one being
// loaded and the one being decoded, memory stays bounded by a few batches.
const loadQueue = 2

// Loaded reports whether the ledger says unit u of the plan is loaded into
// its table (as itself, or whole when u is one part of a file).
func (p *Planned) Loaded(ctx context.Context, pool *pgxpool.Pool, u sdk.Unit) (bool, error) {
	table := p.Table.Plain()
	done, err := load.Done(ctx, pool, u.Key, table)
	if err == nil && !done && u.WholeKey != "" { // loaded in one piece before
		done, err = load.Done(ctx, pool, u.WholeKey, table)
	}
	return done, err
}

// LoadedUnits is Loaded for each of the plan's units, in one query: which
// the ledger says are loaded into its table, by index in Units.
func (p *Planned) LoadedUnits(ctx context.Context, pool *pgxpool.Pool) ([]bool, error) {
	out := make([]bool, len(p.Units))
	if len(p.Units) == 0 {
		return out, nil
	}
	keys := make([]string, 0, len(p.Units))
	for _, u := range p.Units {
		keys = append(keys, u.Key)
		if u.WholeKey != "" {
			keys = append(keys, u.WholeKey)
		}
	}
	table := p.Table.Plain()
	done, err := dbq.New(pool).DoneUnitKeys(ctx, dbq.DoneUnitKeysParams{UnitKeys: keys, TargetTable: table})
	if err != nil {
		return nil, fmt.Errorf("read the ledger of table %s: %w", table, err)
	}
	set := make(map[string]bool, len(done))
	for _, k := range done {
		set[k] = true
	}
	for i, u := range p.Units {
		out[i] = set[u.Key] || (u.WholeKey != "" && set[u.WholeKey]) // or loaded in one piece before
	}
	return out, nil
}

// RunUnit loads one unit once, as a worker does for a queued unit (the
// queue retries it): the unit's rows and its ledger row commit together or
// not at all. A unit stopped by ctx or Options.Stop ends interrupted; a
// failure is not recorded in the ledger (RecordFailure does, once no retry
// is left).
func (r *Runner) RunUnit(ctx context.Context, p *Planned, runID int64, u sdk.Unit) UnitResult {
	prov, err := r.opts.Open(ctx, p.Job.Provider.Name)
	if err != nil {
		return UnitResult{Key: u.Key, Outcome: OutcomeFailed, Err: err}
	}
	res := r.runUnit(ctx, p, prov, runID, u)
	if res.Outcome == OutcomeFailed && (stopped(ctx, r.opts.Stop) || errors.Is(res.Err, ErrInterrupted)) {
		res.Outcome = OutcomeInterrupted
	}
	return res
}

// RecordFailure writes the failed ledger row of a unit that will not be
// tried again, so `hdi runs show` and a re-run see it.
func (r *Runner) RecordFailure(ctx context.Context, p *Planned, runID int64, u sdk.Unit, cause error) error {
	return load.RecordFailure(context.WithoutCancel(ctx), r.opts.Pool, p.unitInfo(runID, u, r.opts.Force), cause)
}

func (r *Runner) runUnit(ctx context.Context, p *Planned, prov sdk.Provider, runID int64, u sdk.Unit) UnitResult {
	res := UnitResult{Key: u.Key, RuleCounts: map[string]int64{}}
	info := p.unitInfo(runID, u, r.opts.Force)
	if !info.Force {
		done, err := p.Loaded(ctx, r.opts.Pool, u)
		if err != nil {
			res.Outcome, res.Err = OutcomeFailed, err
			return res
		}
		if done {
			res.Outcome = OutcomeSkipped
			return res
		}
	}
	tx, err := load.BeginUnit(ctx, r.opts.Pool, info)
	if errors.Is(err, load.ErrAlreadyDone) {
		res.Outcome = OutcomeSkipped // another run finished it meanwhile
		return res
	}
	if err != nil {
		res.Outcome, res.Err = OutcomeFailed, err
		return res
	}
	ur := &unitRun{r: r, p: p, prov: prov, ctx: ctx, runID: runID, unit: u, tx: tx, res: res, ignored: map[string]bool{}}
	if ur.loader, err = r.NewStreamLoader(p, u.Key, info.Dataset, info.Start, info.End); err == nil {
		ur.res.RuleCounts = ur.loader.RuleCounts
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
	req := &sdk.FetchRequest{Job: ur.p.SDKJob, Unit: ur.unit, BatchRows: batchRows(ur.p.Stream.Schema)}
	state, err := dbq.New(ur.r.opts.Pool).GetCheckpoint(ctx, dbq.GetCheckpointParams{UnitKey: ur.unit.Key, TargetTable: ur.p.Table.Plain()})
	switch {
	case err == nil:
		req.Checkpoint = state // what an earlier attempt kept (a batch job ...)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("read the unit's checkpoint: %w", err)
	}
	ur.startLoader()
	err = ur.prov.Fetch(ctx, req, ur)
	if lerr := ur.stopLoader(err != nil); lerr != nil {
		return lerr // the root cause: the provider only saw it echoed
	}
	if err != nil {
		var recv *sdk.ReceiverError
		if errors.As(err, &recv) {
			return recv.Err // our own error, raised while handling a message
		}
		return err
	}
	return nil
}

// startLoader starts the goroutine that loads the queued items in order.
func (ur *unitRun) startLoader() {
	ur.queue = make(chan loadItem, loadQueue)
	ur.loaderDone = make(chan struct{})
	ur.failed = make(chan struct{})
	go func() {
		defer close(ur.loaderDone)
		for it := range ur.queue {
			if ur.loadErr == nil && !ur.abort.Load() {
				var err error
				if it.rec != nil {
					err = ur.loadBatch(it.rec)
				} else {
					err = ur.quarantineRowError(*it.rowErr)
				}
				if err != nil {
					ur.loadErr = err
					close(ur.failed)
				}
			}
			if it.rec != nil {
				it.rec.Release()
			}
		}
	}()
}

// stopLoader waits for the loader to finish what is queued (or, with abort,
// to drop it) and returns its error.
func (ur *unitRun) stopLoader(abort bool) error {
	if abort {
		ur.abort.Store(true)
	}
	close(ur.queue)
	<-ur.loaderDone
	return ur.loadErr
}

// enqueue hands an item to the loader; it blocks while the queue is full and
// fails once the loader has failed.
func (ur *unitRun) enqueue(it loadItem) error {
	select {
	case <-ur.failed:
		if it.rec != nil {
			it.rec.Release()
		}
		return ur.loadErr
	default:
	}
	select {
	case ur.queue <- it:
		return nil
	case <-ur.failed:
		if it.rec != nil {
			it.rec.Release()
		}
		return ur.loadErr
	}
}

// finish checks the quarantine threshold, writes the symbology and commits.
func (ur *unitRun) finish(ctx context.Context) error {
	c := ur.tx.Counts()
	total := c.Seen()
	if maxPct := ur.p.Job.Quarantine.MaxPercent; maxPct > 0 && total > 0 {
		if pct := 100 * float64(c.Quarantined) / float64(total); pct > maxPct {
			return fmt.Errorf("unit %s: %.1f%% of its %d rows were quarantined, over the job's quarantine.max_percent of %g%%: nothing of it is loaded; fix the rules or the data, then re-run",
				ur.unit.Key, pct, total, maxPct)
		}
	}
	if len(ur.mappings) > 0 {
		if err := ur.tx.Exec(ctx, func(tx pgx.Tx) error { return WriteMappings(ctx, tx, ur.runID, ur.mappings) }); err != nil {
			return err
		}
	}
	ur.res.Counts = c
	return ur.tx.Commit(ctx, c)
}

// Batch queues one batch (retained) for the loader, which validates,
// quarantines, maps and loads it (sdk.Sender). It returns the loader's error
// once it has failed, so the provider stops.
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
	rec.Retain()
	return ur.enqueue(loadItem{rec: rec})
}

// loadBatch validates, quarantines, maps and loads one batch (loader).
func (ur *unitRun) loadBatch(rec arrow.RecordBatch) error {
	if err := ur.loader.Load(ur.ctx, ur.tx, rec); err != nil {
		return err
	}
	ur.r.opts.Progress.UnitRows(ur.unit.Key, ur.tx.Counts().Seen())
	return nil
}

// StreamLoader validates, quarantines, maps and loads the batches of one
// stream into a load.UnitTx: the one path a unit's batches and a live
// stream's commits take.
type StreamLoader struct {
	r       *Runner
	key     string // the unit's (or live stream's) key, for messages
	checker *rules.Checker
	plan    *mapping.Plan
	// RuleCounts are the rows each rule flagged (error and warn), and
	// "source" for rows the provider could not convert.
	RuleCounts map[string]int64
}

// NewStreamLoader is the loader of the stream of p for a unit (or a live
// feed) of dataset over [start, end) (zero: unbounded), checking each
// batch against the job's rules and mapping it onto p's table.
func (r *Runner) NewStreamLoader(p *Planned, key, dataset string, start, end time.Time) (*StreamLoader, error) {
	plan, err := mapping.NewPlan(p.Job.Mapping, p.source(dataset), p.Table)
	if err != nil {
		return nil, err
	}
	return &StreamLoader{r: r, key: key, checker: p.Rules.NewUnit(start, end), plan: plan, RuleCounts: map[string]int64{}}, nil
}

// Load validates one batch, quarantines the rows an error rule rejects,
// maps the rest and writes them into tx.
func (l *StreamLoader) Load(ctx context.Context, tx *load.UnitTx, rec arrow.RecordBatch) error {
	res, err := l.checker.Check(rec)
	if err != nil {
		return fmt.Errorf("unit %s: validate: %w", l.key, err)
	}
	for _, rc := range res.Rules {
		l.RuleCounts[rc.Name] += int64(rc.Failed)
		l.r.noteRule(rc)
	}
	tx.Warned(int64(res.WarnedRows))
	if len(res.Rejections) > 0 {
		rows := make([]load.QuarantineRow, 0, len(res.Rejections))
		for _, rj := range res.Rejections {
			record, err := rules.RowJSON(rec, rj.Row)
			if err != nil {
				return fmt.Errorf("unit %s: quarantine row %d: %w", l.key, rj.Row, err)
			}
			rows = append(rows, load.QuarantineRow{
				Rule: strings.Join(rj.Rules, ","), Severity: "error",
				Message: strings.Join(rj.Messages, "; "), Record: record,
			})
		}
		if err := tx.Quarantine(ctx, rows); err != nil {
			return err
		}
	}
	batch, err := l.plan.Apply(rec)
	if err != nil {
		return fmt.Errorf("unit %s: map: %w", l.key, err)
	}
	c, err := tx.WriteBatch(ctx, batch, res.Rejected)
	if c.Quarantined > 0 { // rows the table cannot hold
		l.RuleCounts[load.RuleTable] += c.Quarantined
	}
	return err
}

// RowError writes a source record the provider could not convert into the
// quarantine.
func (l *StreamLoader) RowError(ctx context.Context, tx *load.UnitTx, e sdk.RowError) error {
	rec := map[string]any{"file": e.File, "line": e.Line, "raw": e.Raw, "stream": e.Stream}
	if e.Column > 0 {
		rec["column"] = e.Column
	}
	record, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	l.RuleCounts["source"]++
	return tx.Quarantine(ctx, []load.QuarantineRow{{Rule: "source", Severity: "error", Message: e.Error(), Record: record}})
}

// Mappings keeps symbol mappings for the unit's commit (sdk.Sender).
func (ur *unitRun) Mappings(m []sdk.SymbolMapping) error {
	ur.mappings = append(ur.mappings, m...)
	return nil
}

// Progress takes the provider's progress (sdk.Sender): with a total (a
// file's size), it tells the progress bar how far the unit is.
func (ur *unitRun) Progress(p sdk.Progress) error {
	ur.r.opts.Progress.UnitSource(ur.unit.Key, p)
	return nil
}

// Warn logs a provider warning (sdk.Sender).
func (ur *unitRun) Warn(msg string) error {
	ur.r.log.Warn("provider: "+msg, "unit", ur.unit.Key)
	return nil
}

// Checkpoint keeps what the provider asks to keep of the unit (sdk.Sender):
// written at once on its own connection, so a failed or killed attempt
// keeps it for the next.
func (ur *unitRun) Checkpoint(state []byte, note string) error {
	runID := ur.runID
	err := dbq.New(ur.r.opts.Pool).SaveCheckpoint(context.WithoutCancel(ur.ctx), dbq.SaveCheckpointParams{
		UnitKey: ur.unit.Key, TargetTable: ur.p.Table.Plain(), Provider: ur.p.Job.Provider.Name, RunID: &runID, State: state, Note: note,
	})
	if err != nil {
		return fmt.Errorf("save the unit's checkpoint: %w", err)
	}
	if note != "" {
		ur.r.log.Info("provider: "+note, "unit", ur.unit.Key)
	}
	return nil
}

// LiveCheckpoint is meaningless in a historical unit, whose commit is
// its end (sdk.Sender): it is ignored.
func (ur *unitRun) LiveCheckpoint(sdk.LiveCheckpoint) error { return nil }

// RowError queues a source record the provider could not convert for the
// quarantine, in order with the batches (sdk.Sender).
func (ur *unitRun) RowError(e sdk.RowError) error {
	return ur.enqueue(loadItem{rowErr: &e})
}

// quarantineRowError writes a row error into the quarantine (loader).
func (ur *unitRun) quarantineRowError(e sdk.RowError) error {
	return ur.loader.RowError(ur.ctx, ur.tx, e)
}
