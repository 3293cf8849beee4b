// Package runner runs ingest jobs: it asks a provider plugin for a plan,
// fetches each unit as a stream of Arrow batches, validates the rows,
// quarantines the rejected ones, maps the rest and loads them with COPY.
// Each unit's rows, quarantine rows, symbology and ledger row commit in one
// transaction, so a crash loses nothing and a re-run skips finished units.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/load"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/rules"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// OpenFunc returns the provider plugin of the given name, started.
type OpenFunc func(ctx context.Context, name string) (sdk.Provider, error)

// Options configure a Runner.
type Options struct {
	// Pool is the database. Without one (validation) plans are checked
	// against everything but the target table.
	Pool *pgxpool.Pool
	Open OpenFunc
	// ProviderConfig returns configuration for a provider from hdi's own
	// config file; the job's provider.config overrides it.
	ProviderConfig func(name string) map[string]string
	// LookupEnv reads the environment variables providers declare for their
	// config keys (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Secret, when set, is called with every secret value of a provider's
	// configuration (API keys), so the caller can keep it out of its output.
	Secret func(string)
	Logger *slog.Logger
	// Progress receives progress events (nil: none).
	Progress Progress
	// Now is the clock for relative dates (nil: time.Now).
	Now func() time.Time
	// Force reloads units the ledger says are done.
	Force bool
	// Offline plans without network access (validation, dry runs of files).
	Offline bool
	// DryRun: the plan is only shown or checked, never run (hdi ingest
	// --dry-run, hdi jobs validate). The provider is told (sdk.Job.DryRun:
	// it gives up fast on estimates), and a target table that does not
	// exist yet is a warning, not an error.
	DryRun bool
	// MaxAttempts bounds how often a unit that failed with a retryable error
	// (connection lost, provider stream cut) is tried (default 3).
	MaxAttempts int
	// Stop, when closed, makes the run stop after the batch in flight: the
	// units under way roll back and the run ends interrupted (SIGINT).
	Stop <-chan struct{}
}

// Runner runs jobs.
type Runner struct {
	opts Options
	log  *slog.Logger

	ruleMu    sync.Mutex
	seenRules map[string]bool
}

// New returns a Runner.
func New(opts Options) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.Progress == nil {
		opts.Progress = nopProgress{}
	}
	return &Runner{opts: opts, log: opts.Logger, seenRules: map[string]bool{}}
}

// ErrCostTooHigh refuses a run whose estimated cost exceeds the job's max_cost.
var ErrCostTooHigh = errors.New("estimated cost exceeds max_cost")

// ErrInterrupted ends a run stopped by Options.Stop.
var ErrInterrupted = errors.New("interrupted")

// Planned is a job ready to run: the provider's units and everything checked
// before any data moves.
type Planned struct {
	Job      *jobspec.Job
	Provider sdk.Provider
	SDKJob   *sdk.Job
	// Stream is what the provider declares of the stream loaded: its
	// schema, conflict policy, time field and default rules.
	Stream   sdk.Stream
	Units    []sdk.Unit
	Warnings []string
	// Table is the target table (zero when planned without a database).
	Table mapping.TableInfo
	Rules *rules.Set
	// SecretKeys are the provider config keys the provider declares secret.
	SecretKeys []string
	// Estimated totals over the units; Known* say whether every unit had one.
	Rows, Bytes          int64
	CostUSD              float64
	KnownRows, KnownCost bool
	// LiveStream, for a backfill, names the live stream that asked for the
	// run (runs.kind backfill, runs.live_stream).
	LiveStream string
}

func (p *Planned) liveStream() *string {
	if p.LiveStream == "" {
		return nil
	}
	return &p.LiveStream
}

// ConflictUpdate reports whether a newer record replaces a stored one of
// the same key (the provider's ConflictReplace streams: corrections win).
func (p *Planned) ConflictUpdate() bool { return p.Stream.OnConflict == sdk.ConflictReplace }

// Reload reports whether units the ledger says are done load again: with
// --force, and in replace-range mode (which deletes each unit's range and
// loads it afresh).
func (p *Planned) Reload(force bool) bool {
	return force || p.Job.Target.Mode == jobspec.ModeReplaceRange
}

// DefaultTable is the target table of a provider stream: the stream name
// with dashes turned into underscores (ohlcv-1d -> ohlcv_1d).
func DefaultTable(stream string) string { return strings.ReplaceAll(stream, "-", "_") }

// Plan asks the provider for the job's units and checks the rules and the
// mapping against the stream and the target table. The job must fill one
// stream; PlanAll plans files that hold several.
func (r *Runner) Plan(ctx context.Context, job *jobspec.Job) (*Planned, error) {
	ps, err := r.PlanAll(ctx, job)
	if err != nil {
		return nil, err
	}
	if len(ps) != 1 {
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.Stream.Name
		}
		return nil, fmt.Errorf("job %s: the files hold several schemas (%s): load them in separate runs with --schema", job.Name, strings.Join(names, ", "))
	}
	return ps[0], nil
}

// PlanAll is Plan for a job whose files may hold several schemas (a job
// without source.schema): one Planned per stream, in name order, each with
// its own target table, rules and mapping. A job that names its schema gets
// exactly one.
//
// Before the provider plans, the job's provider config and params are
// checked against what the provider declares (sdk.ParseParams, the same
// code the provider runs): a mistake is reported with the job's key and
// line, or the flag the user typed, and nothing is asked of the provider.
func (r *Runner) PlanAll(ctx context.Context, job *jobspec.Job) ([]*Planned, error) {
	if job.IsLive() {
		return nil, job.KeyError("mode", "a live job is recorded by hdi stream, not loaded as a range of history")
	}
	prov, desc, cfg, check, err := r.open(ctx, job)
	if err != nil {
		return nil, err
	}
	streamName := job.Source.Schema
	if streamName == "" && len(desc.Streams) == 1 {
		streamName = desc.Streams[0].Name
	}
	var tableCols []sdk.Column
	if st, ok := desc.Stream(streamName); ok && st.Schema == nil && len(job.Source.Columns) == 0 && r.opts.Pool != nil {
		if tableCols, err = r.tableColumns(ctx, job, streamName); err != nil {
			return nil, err
		}
	}
	sj, warnings, err := job.ProviderJob(jobspec.ProviderJobOptions{
		Now: r.opts.Now(), Config: cfg, Stream: streamName, Columns: tableCols,
		Replace: r.opts.Force, Offline: r.opts.Offline, DryRun: r.opts.DryRun,
	})
	if err != nil {
		return nil, err
	}
	plan, err := prov.Plan(ctx, sj)
	var tooMany *sdk.TooManyUnits
	if errors.As(err, &tooMany) {
		return nil, job.UnitCapError(tooMany, sj)
	}
	if err != nil {
		return nil, job.ProviderError(fmt.Errorf("plan job %s: %w", job.Name, err))
	}
	if n := int64(len(plan.Units)); sj.MaxUnits > 0 && n > sj.MaxUnits { // a provider that ignores the cap
		return nil, job.UnitCapError(&sdk.TooManyUnits{Units: n, UnitsPerChunk: unitsPerChunk(plan.Units)}, sj)
	}
	warnings = append(append(warnings, check.Warnings...), plan.Warnings...)

	groups := map[string][]sdk.Unit{}
	if streamName != "" {
		groups[streamName] = plan.Units
	} else {
		// Files name their own schema: the units say which stream they fill.
		if len(plan.Units) == 0 {
			return nil, fmt.Errorf("job %s: the provider planned no units: nothing to load (check the files or the date range)", job.Name)
		}
		for _, u := range plan.Units {
			if u.Stream == "" {
				return nil, fmt.Errorf("job %s: the provider did not say which schema unit %s holds: give --schema", job.Name, u.Key)
			}
			groups[u.Stream] = append(groups[u.Stream], u)
		}
	}
	out := make([]*Planned, 0, len(groups))
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		j, sjs := job, sj
		if job.Source.Schema == "" {
			// Each schema of the files loads in a run of its own, named
			// after the job like every run (its table tells them apart).
			jc, sjc := *job, *sj
			jc.Source.Schema, sjc.Stream = name, name
			j, sjs = &jc, &sjc
		}
		p, err := r.prepare(ctx, j, prov, desc, plan.Streams, sjs, groups[name])
		if err != nil {
			return nil, err
		}
		warnings = append(warnings, p.Warnings...) // the stream's own
		out = append(out, p)
	}
	for _, p := range out {
		p.Warnings = warnings
	}
	return out, nil
}

// open starts the job's provider and checks the job's provider config and
// params against what it declares (sdk.ParseParams, the same code the
// provider runs), then asks the provider to check its configuration.
func (r *Runner) open(ctx context.Context, job *jobspec.Job) (sdk.Provider, *sdk.Description, map[string]string, *sdk.CheckResult, error) {
	prov, err := r.opts.Open(ctx, job.Provider.Name)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	desc, err := prov.Describe(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cfg, err := r.providerConfig(job, desc)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if _, err := sdk.ParseParams("params", desc.Params, job.Source.Params); err != nil {
		return nil, nil, nil, nil, job.ProviderError(err)
	}
	check, err := prov.Check(ctx, cfg)
	if err != nil {
		return nil, nil, nil, nil, job.ProviderError(fmt.Errorf("provider %s rejected the configuration: %w", job.Provider.Name, err))
	}
	return prov, desc, cfg, check, nil
}

// PlanLive plans a live job (mode: live): the provider's one unit, without
// an end, and one Planned per stream of its session, each with its own
// target table, rules and mapping, checked before any data moves. The
// Description says how far back the provider replays.
func (r *Runner) PlanLive(ctx context.Context, job *jobspec.Job) ([]*Planned, *sdk.Description, error) {
	if !job.IsLive() {
		return nil, nil, fmt.Errorf("job %s is not a live job: give it mode: live", job.Name)
	}
	prov, desc, cfg, check, err := r.open(ctx, job)
	if err != nil {
		return nil, nil, err
	}
	names := job.LiveSchemas()
	for i, name := range names {
		st, ok := desc.Stream(name)
		key := "source.schema"
		if len(job.Source.Schemas) > 0 {
			key = fmt.Sprintf("source.schemas[%d]", i)
		}
		switch {
		case !ok:
			return nil, nil, job.KeyError(key, fmt.Sprintf("provider %s has no stream %q (streams: %s)", job.Provider.Name, name, streamNames(desc)))
		case !st.Live:
			return nil, nil, job.KeyError(key, fmt.Sprintf("provider %s cannot stream %q live (live streams: %s)", job.Provider.Name, name, liveStreamNames(desc)))
		}
	}
	sj, warnings, err := job.ProviderJob(jobspec.ProviderJobOptions{Now: r.opts.Now(), Config: cfg, Stream: names[0], Offline: r.opts.Offline})
	if err != nil {
		return nil, nil, err
	}
	sj.Live, sj.LiveStreams, sj.End = true, names, 0
	if w := desc.LiveReplay; sj.Start != 0 && sj.Start < r.opts.Now().Add(-w).UnixNano() {
		// Older than the source replays: the host backfills it from
		// history, then resumes the feed inside the window (FetchRequest.
		// Resume); the provider is not asked for it.
		sj.Start = 0
	}
	plan, err := prov.Plan(ctx, sj)
	if err != nil {
		return nil, nil, job.ProviderError(fmt.Errorf("plan live job %s: %w", job.Name, err))
	}
	if len(plan.Units) != 1 {
		return nil, nil, fmt.Errorf("plan live job %s: provider %s planned %d units; a live feed is one", job.Name, job.Provider.Name, len(plan.Units))
	}
	warnings = append(append(warnings, check.Warnings...), plan.Warnings...)
	out := make([]*Planned, 0, len(names))
	for _, name := range names {
		jc, sjc := *job, *sj
		jc.Source.Schema, jc.Source.Schemas, sjc.Stream = name, nil, name
		p, err := r.prepare(ctx, &jc, prov, desc, plan.Streams, &sjc, plan.Units)
		if err != nil {
			return nil, nil, err
		}
		p.SDKJob, p.Warnings = sj, warnings // one session for all
		out = append(out, p)
	}
	return out, desc, nil
}

func liveStreamNames(d *sdk.Description) string {
	var names []string
	for _, s := range d.Streams {
		if s.Live {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// unitsPerChunk is how many units of a plan share each time range (its
// symbol groups), for a plan whose every unit has one; else 0.
func unitsPerChunk(units []sdk.Unit) int64 {
	type span struct{ start, end int64 }
	ranges := map[span]bool{}
	for i := range units {
		if _, ok := units[i].Range(); !ok {
			return 0
		}
		ranges[span{units[i].Start, units[i].End}] = true
	}
	if len(ranges) == 0 {
		return 0
	}
	return int64((len(units) + len(ranges) - 1) / len(ranges))
}

// providerConfig is the provider configuration of a job: the provider's
// declared environment variables, under hdi's config file, under the job's
// provider.config; checked against the provider's declaration.
func (r *Runner) providerConfig(job *jobspec.Job, desc *sdk.Description) (map[string]string, error) {
	cfg := map[string]string{}
	for _, k := range desc.Config {
		if k.Env == "" {
			continue
		}
		if v, ok := r.opts.LookupEnv(k.Env); ok && v != "" {
			cfg[k.Name] = v
		}
	}
	if r.opts.ProviderConfig != nil {
		maps.Copy(cfg, r.opts.ProviderConfig(job.Provider.Name))
	}
	maps.Copy(cfg, job.Provider.Config)
	if _, err := sdk.ParseParams("config", desc.Config, cfg); err != nil {
		return nil, job.ProviderError(err)
	}
	for _, k := range desc.Config {
		if v := cfg[k.Name]; k.Secret && v != "" && r.opts.Secret != nil {
			r.opts.Secret(v)
		}
	}
	return cfg, nil
}

// tableColumns declares the target table's columns for a stream whose
// schema the job gives but does not (csv without source.columns).
func (r *Runner) tableColumns(ctx context.Context, job *jobspec.Job, stream string) ([]sdk.Column, error) {
	if job.Target.Table == "" {
		return nil, job.KeyError("target.table", fmt.Sprintf("the %s provider's stream %q takes its columns from the target table: name the table, or declare the columns under source.columns", job.Provider.Name, stream))
	}
	ti, err := mapping.IntrospectTable(ctx, r.opts.Pool, job.Target.Table)
	if err != nil {
		return nil, job.KeyError("target.table", err.Error())
	}
	return mapping.DeclareColumns(ti), nil
}

// prepare resolves one stream of a plan: its schema, its target table, and
// the rules and mapping checked against both, before any data moves.
func (r *Runner) prepare(ctx context.Context, job *jobspec.Job, prov sdk.Provider, desc *sdk.Description, resolved []sdk.Stream, sj *sdk.Job, units []sdk.Unit) (*Planned, error) {
	stream, ok := desc.Stream(job.Source.Schema)
	for _, s := range resolved { // schemas the job declares (csv), resolved by the plan
		if s.Name == job.Source.Schema && s.Schema != nil {
			stream.Name, stream.Schema, ok = s.Name, s.Schema, true
		}
	}
	if !ok || stream.Schema == nil {
		return nil, job.KeyError("source.schema", fmt.Sprintf("provider %s has no stream %q (streams: %s)", job.Provider.Name, job.Source.Schema, streamNames(desc)))
	}
	p := &Planned{Job: job, Provider: prov, SDKJob: sj, Stream: stream, Units: units, SecretKeys: secretKeys(desc), KnownRows: true, KnownCost: true}
	for _, u := range units {
		if u.EstimatedRows != nil {
			p.Rows += *u.EstimatedRows
		} else {
			p.KnownRows = false
		}
		if u.EstimatedBytes != nil {
			p.Bytes += *u.EstimatedBytes
		}
		if u.EstimatedCostUSD != nil {
			p.CostUSD += *u.EstimatedCostUSD
		} else {
			p.KnownCost = false
		}
	}
	var err error
	ropts := rules.Options{File: job.File, Stream: stream.Name}
	if job.DefaultRules == nil || *job.DefaultRules {
		ropts.Defaults = rules.FromSDK(stream.DefaultRules)
	}
	if p.Rules, err = rules.Compile(job.Rules, stream.Schema, ropts); err != nil {
		return nil, fmt.Errorf("job %s: %w", job.Name, err)
	}
	if r.opts.Pool == nil {
		return p, nil
	}
	table := job.Target.Table
	if table == "" {
		table = DefaultTable(stream.Name)
	}
	if p.Table, err = mapping.IntrospectTable(ctx, r.opts.Pool, table); err != nil {
		if r.opts.DryRun && errors.Is(err, mapping.ErrNoTable) {
			p.Warnings = append(p.Warnings, fmt.Sprintf("target table %q does not exist yet, so the mapping is not checked: create it before the job runs", table))
			p.Table.Table = table // as named, for the plan's output
			return p, nil
		}
		return nil, fmt.Errorf("job %s: target table: %w", job.Name, err)
	}
	// Checked once here; each unit builds its own with its dataset.
	dataset := job.Source.Dataset
	if dataset == "" && len(units) > 0 {
		dataset = units[0].Dataset // files name their dataset
	}
	if _, err := mapping.NewPlan(job.Mapping, p.source(dataset), p.Table); err != nil {
		return nil, fmt.Errorf("job %s: %w", job.Name, err)
	}
	return p, nil
}

// source is what the mapping reads for a unit of the given dataset.
func (p *Planned) source(dataset string) mapping.Source {
	return mapping.Source{Schema: p.Stream.Schema, TimeField: p.Stream.TimeField, Dataset: dataset}
}

func streamNames(d *sdk.Description) string {
	names := make([]string, len(d.Streams))
	for i, s := range d.Streams {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// CheckCost refuses a plan whose estimated cost exceeds the job's max_cost.
func (p *Planned) CheckCost() error {
	if p.Job.MaxCost == nil {
		return nil
	}
	if p.CostUSD > *p.Job.MaxCost {
		return fmt.Errorf("%w: the provider estimates $%.2f for %d units, max_cost is $%.2f: raise max_cost in the job or narrow its symbols or dates",
			ErrCostTooHigh, p.CostUSD, len(p.Units), *p.Job.MaxCost)
	}
	return nil
}

// Run executes a planned job and returns its summary. The error is non-nil
// when any unit failed or the run was interrupted; the summary is always
// returned.
func (r *Runner) Run(ctx context.Context, p *Planned) (*Summary, error) {
	if err := p.CheckCost(); err != nil {
		return nil, err
	}
	if r.opts.Pool == nil {
		return nil, errors.New("runner: a run needs a database")
	}
	s := newSummary(p)
	runID, err := startRun(ctx, r.opts.Pool, p)
	if err != nil {
		return nil, err
	}
	s.RunID = runID
	r.log.Info("run started", "run", runID, "job", p.Job.Name, "units", len(p.Units), "table", p.Table.Table)
	r.opts.Progress.Start(p.Units)

	workers := p.Job.Concurrency
	if workers <= 0 {
		workers = jobspec.DefaultConcurrency
	}
	workers = min(workers, max(len(p.Units), 1))
	units := make(chan sdk.Unit)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range units {
				res := r.unitWithRetries(ctx, p, runID, u)
				s.add(res)
				r.opts.Progress.UnitDone(u.Key, res.Outcome)
			}
		}()
	}
	queued := 0
feed:
	for _, u := range p.Units {
		select {
		case units <- u:
			queued++
		case <-ctx.Done():
			break feed
		case <-r.opts.Stop:
			break feed
		}
	}
	close(units)
	wg.Wait()
	s.notStarted(len(p.Units) - queued)
	r.opts.Progress.Finish()
	s.finish()
	if err := finishRun(context.WithoutCancel(ctx), r.opts.Pool, s); err != nil {
		r.log.Error("could not record the run's end", "run", runID, "err", err)
	}
	return s, s.Err()
}

// retryWait is the pause before the n-th retry of a unit (1, 2, 4 ... s),
// or longer when the provider asked for it (rate limits).
func retryWait(n int, asked time.Duration) time.Duration {
	return max(time.Second<<min(n-1, 5), min(asked, 10*time.Minute))
}

func (r *Runner) unitWithRetries(ctx context.Context, p *Planned, runID int64, u sdk.Unit) UnitResult {
	var res UnitResult
	r.warnForceWithoutRange(p.unitInfo(runID, u, r.opts.Force))
	for attempt := 1; ; attempt++ {
		// A plugin that died is restarted by RunUnit's Open; a live one is reused.
		res = r.RunUnit(ctx, p, runID, u)
		retry, asked := Retryable(res.Err)
		if res.Outcome != OutcomeFailed || !retry || attempt >= r.opts.MaxAttempts {
			break
		}
		wait := retryWait(attempt, asked)
		r.log.Warn("unit failed, retrying", "unit", u.Key, "attempt", attempt, "wait", wait, "err", res.Err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		case <-r.opts.Stop:
		}
	}
	if res.Outcome == OutcomeFailed {
		if err := r.RecordFailure(ctx, p, runID, u, res.Err); err != nil {
			r.log.Error("could not record the unit's failure", "unit", u.Key, "err", err)
		}
		// The run's summary says why, once.
		r.log.Debug("unit failed", "unit", u.Key, "err", res.Err)
	}
	return res
}

func stopped(ctx context.Context, stop <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return true
	case <-stop:
		return true
	default:
		return false
	}
}

func (p *Planned) unitInfo(runID int64, u sdk.Unit, force bool) load.UnitInfo {
	info := load.UnitInfo{
		Key: u.Key, RunID: runID, Provider: p.Job.Provider.Name, Dataset: u.Dataset, Schema: p.Stream.Name,
		Table: p.Table.Plain(), Symbols: u.Symbols, Mode: p.Job.Target.Mode, Force: p.Reload(force),
		ConflictUpdate: p.ConflictUpdate(), TableInfo: &p.Table,
	}
	if info.Dataset == "" {
		info.Dataset = p.Job.Source.Dataset
	}
	if rg, ok := u.Range(); ok {
		info.Start, info.End = rg.Start, rg.End
	}
	return info
}

// warnForceWithoutRange says when --force cannot replace a unit's rows.
func (r *Runner) warnForceWithoutRange(info load.UnitInfo) {
	if info.Force && (info.Start.IsZero() || info.End.IsZero()) && info.Mode != jobspec.ModeReplaceRange {
		r.log.Warn("--force: the unit has no time range, so its old rows cannot be deleted; it reloads with deduplication (rows already stored stay as they are)", "unit", info.Key)
	}
}

// noteRule logs a rule's first failures once per runner, with examples.
func (r *Runner) noteRule(rc rules.RuleCount) {
	r.ruleMu.Lock()
	seen := r.seenRules[rc.Name]
	r.seenRules[rc.Name] = true
	r.ruleMu.Unlock()
	if seen {
		return
	}
	ex := make([]string, 0, len(rc.Examples))
	for _, e := range rc.Examples {
		ex = append(ex, e.Message)
	}
	r.log.Warn("rule flagged rows (logged once per rule; the summary has the totals)",
		"rule", rc.Name, "type", rc.Type, "severity", rc.Severity, "examples", strings.Join(ex, " | "))
}
