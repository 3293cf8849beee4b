package dbprov

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Live feeds (Job.Live) come from Databento's Live API: one TCP session
// per unit, authenticated by CRAM, one subscription per stream, then a DBN
// stream decoded as it arrives. See docs/providers.md, "Live streams", for
// the contract and jobs/README.md for the parameters.

// Defaults and limits of live feeds.
const (
	// DefaultHeartbeatS is heartbeat_interval_s unless the job sets it
	// (Databento's own default is 30; 10 finds a dead connection in 20 s).
	DefaultHeartbeatS = 10
	// Databento's bounds of heartbeat_interval_s.
	minHeartbeatS, maxHeartbeatS = 5, 1800
	// DefaultReplayMargin is replay_margin unless the job sets it.
	DefaultReplayMargin = 10 * time.Second
	// DefaultFlushInterval is flush_interval unless the job sets it.
	DefaultFlushInterval = 100 * time.Millisecond
	// LiveReplay is how far back the Live API replays (Describe's
	// LiveReplay): the last 24 hours.
	LiveReplay = 24 * time.Hour
	// replaySlack keeps a clamped start inside the replay window despite
	// clock differences and the time the connection takes.
	replaySlack = time.Minute
	// LivePort is the Live API's port.
	LivePort = 13000
	// maxSymbolsPerLine is how many symbols one subscription line carries
	// (Databento recommends chunks of 500).
	maxSymbolsPerLine = 500
	// keepAlive is the longest the provider stays silent: with nothing to
	// send, a LiveCheckpoint without positions says the feed is alive.
	keepAlive = 5 * time.Second
)

// liveSTypes are the input symbologies the Live API takes.
var liveSTypes = []dbn.SType{dbn.STypeRawSymbol, dbn.STypeInstrumentID, dbn.STypeParent, dbn.STypeContinuous}

// liveSchema reports whether the Live API serves schema s: all but
// ohlcv-eod, whose bars come after the session, from the historical API.
func liveSchema(s dbn.Schema) bool { return s != dbn.SchemaOhlcvEod }

// liveRequest is a validated live job.
type liveRequest struct {
	Dataset     string
	Streams     []dbn.Schema // in the job's order; Streams[0] is Job.Stream
	Symbols     []string     // sorted, deduplicated
	StypeIn     dbn.SType
	Start       int64 // the job's start (ns), 0: now
	Heartbeat   int   // seconds
	Compression string
	TsOut       bool
	SlowReader  string
	Snapshot    bool
	Margin      time.Duration
	Flush       time.Duration
}

// parseLiveJob validates a live job; its errors name the job field.
func parseLiveJob(job *sdk.Job) (*liveRequest, error) {
	p, err := sdk.ParseParams("params", params, job.Params)
	if err != nil {
		return nil, err
	}
	if src := p.String("source"); src == "files" || len(job.Files) > 0 {
		return nil, sdk.FieldError("files", "a live feed comes from the Live API, not from files: drop the files")
	}
	for _, name := range historyParams {
		if p.Has(name) {
			return nil, sdk.FieldError("params."+name, "is for historical loads, not live feeds: drop it")
		}
	}
	lr := &liveRequest{
		Dataset: strings.TrimSpace(job.Dataset), Start: job.Start,
		Heartbeat: int(p.Int("heartbeat_interval_s")), Compression: p.String("compression"), TsOut: p.Bool("ts_out"),
		SlowReader: p.String("slow_reader_behavior"), Snapshot: p.Bool("snapshot"),
		Margin: p.Duration("replay_margin"), Flush: p.Duration("flush_interval"),
	}
	if lr.Dataset == "" {
		return nil, sdk.FieldError("dataset", "is required: a dataset code such as GLBX.MDP3")
	}
	if err := checkDataset(lr.Dataset); err != nil {
		return nil, err
	}
	names := job.LiveStreams
	if len(names) == 0 && job.Stream != "" {
		names = []string{job.Stream}
	}
	if len(names) == 0 {
		return nil, sdk.FieldError("schema", "is required: one or more of %s", liveSchemaList())
	}
	rtypes := map[dbn.RType]dbn.Schema{}
	for i, name := range names {
		field := "schema"
		if len(names) > 1 {
			field = fmt.Sprintf("streams[%d]", i)
		}
		s, err := dbn.ParseSchema(name)
		if err != nil {
			return nil, sdk.FieldError(field, "%q is not a Databento schema: want one of %s", name, liveSchemaList())
		}
		if !liveSchema(s) {
			return nil, sdk.FieldError(field, "%s is not served by the Live API: load it with hdi ingest", s)
		}
		rt, _ := s.RType()
		if other, dup := rtypes[rt]; dup {
			if other == s {
				return nil, sdk.FieldError(field, "%s is listed twice", s)
			}
			return nil, sdk.FieldError(field, "%s and %s carry the same record type, so one session cannot tell them apart: stream them in two jobs", other, s)
		}
		rtypes[rt] = s
		lr.Streams = append(lr.Streams, s)
	}
	if lr.StypeIn, err = parseSType("stype_in", firstOf(p.String("stype_in"), job.StypeIn), dbn.STypeRawSymbol); err != nil {
		return nil, err
	}
	if !slices.Contains(liveSTypes, lr.StypeIn) {
		return nil, sdk.FieldError("stype_in", "%s is not taken by the Live API: want raw_symbol, instrument_id, parent or continuous", lr.StypeIn)
	}
	if out := firstOf(p.String("stype_out"), job.StypeOut); out != "" && out != dbn.STypeInstrumentID.String() {
		return nil, sdk.FieldError("stype_out", "%s: live records carry instrument_id (the feed's symbol mappings name the raw symbols)", out)
	}
	if lr.Symbols, err = normSymbols(job.Symbols, lr.StypeIn, true); err != nil {
		return nil, err
	}
	if job.End != 0 {
		return nil, sdk.FieldError("end", "a live feed has no end: drop it (load a closed range with hdi ingest)")
	}
	if job.Limit != 0 {
		return nil, sdk.FieldError("limit", "a live feed has no record limit: drop it")
	}
	if lr.Heartbeat < minHeartbeatS || lr.Heartbeat > maxHeartbeatS {
		return nil, sdk.FieldError("params.heartbeat_interval_s", "%d: Databento takes %d to %d seconds", lr.Heartbeat, minHeartbeatS, maxHeartbeatS)
	}
	if lr.Margin < 0 {
		return nil, sdk.FieldError("params.replay_margin", "%s: want 0 or a positive duration such as 10s", lr.Margin)
	}
	if lr.Flush < time.Millisecond {
		return nil, sdk.FieldError("params.flush_interval", "%s: want at least 1ms, such as 100ms", lr.Flush)
	}
	if lr.Snapshot && !slices.Contains(lr.Streams, dbn.SchemaMbo) {
		return nil, sdk.FieldError("params.snapshot", "a snapshot is for the mbo schema only, and the job streams no mbo")
	}
	return lr, nil
}

func liveSchemaList() string {
	var names []string
	for _, s := range dbn.Schemas() {
		if liveSchema(s) {
			names = append(names, s.String())
		}
	}
	return strings.Join(names, ", ")
}

// liveAddr is the gateway of a dataset: the configured live_gateway, else
// {dataset in lower case, dots as dashes}.lsg.databento.com:13000.
func liveAddr(cfg *config, dataset string) string {
	if cfg.LiveGateway != "" {
		return cfg.LiveGateway
	}
	return fmt.Sprintf("%s.lsg.databento.com:%d", strings.ReplaceAll(strings.ToLower(dataset), ".", "-"), LivePort)
}

// liveUnitKey names the feed: dataset, streams (sorted), symbology and
// symbols. It leaves out the start and the session's settings, which do
// not change what the feed is.
func liveUnitKey(lr *liveRequest) string {
	names := make([]string, len(lr.Streams))
	for i, s := range lr.Streams {
		names[i] = s.String()
	}
	slices.Sort(names)
	return fmt.Sprintf("databento:live:%s:%s:%s:%s", lr.Dataset, strings.Join(names, "+"), lr.StypeIn, symbolsTag(lr.Symbols))
}

// planLive plans a live job: one unit, without estimates.
func planLive(job *sdk.Job, cfg *config) (*sdk.Plan, error) {
	lr, err := parseLiveJob(job)
	if err != nil {
		return nil, err
	}
	if !job.Offline {
		if err := cfg.needKey(); err != nil {
			return nil, err
		}
	}
	if _, err := lr.subscriptionStarts(nil, time.Now()); err != nil {
		return nil, err // a start before the replay window
	}
	u := sdk.Unit{
		Key: liveUnitKey(lr), Stream: lr.Streams[0].String(), Dataset: lr.Dataset, Start: lr.Start, Symbols: lr.Symbols,
		Params: map[string]string{"source": "live"},
		Note: fmt.Sprintf("live feed from %s; no cost estimate: Databento bills live data by monthly licence, not per request",
			liveAddr(cfg, lr.Dataset)),
	}
	return &sdk.Plan{Units: []sdk.Unit{u}}, nil
}

// replayFiltersOnIndex reports whether the gateway's replay filters on the
// stream's own index time: ts_recv for bbo and cbbo, ts_event for bars.
// Every other schema is indexed by ts_recv but replayed by ts_event.
func replayFiltersOnIndex(s dbn.Schema) bool {
	switch s {
	case dbn.SchemaBbo1S, dbn.SchemaBbo1M, dbn.SchemaCbbo1S, dbn.SchemaCbbo1M:
		return true
	}
	return TimeField(s) == "ts_event"
}

// subscriptionStarts chooses each stream's start= (0: none, the feed from
// now on). The rule, so that no record after a committed position is
// missed:
//
//   - a stream with a committed position P resumes at P's time when the
//     replay filters on the stream's index time (bbo, cbbo, bars), else at
//     P's time minus replay_margin, since the replay filters on ts_event
//     and a record received after P may have happened up to the feed's
//     latency before it;
//   - a stream without a position starts at the job's start when it has
//     one, else, when other streams resume, at the earliest of their
//     positions minus replay_margin (what it received since then was not
//     committed either), else at none;
//   - a start older than the replay window (24 h, less a minute of slack)
//     is raised to the window's edge when the position or job start it
//     comes from is inside the window (only records received more than a
//     day after they happened could be missed); when that is older too,
//     the gap cannot be replayed: the error says to fill it with a
//     historical run.
//
// The records sent again are dropped by the host's unique keys.
func (lr *liveRequest) subscriptionStarts(resume []sdk.LivePosition, now time.Time) ([]int64, error) {
	pos := map[string]sdk.LivePosition{}
	var earliest int64
	for _, p := range resume {
		pos[p.Stream] = p
		if earliest == 0 || p.Time < earliest {
			earliest = p.Time
		}
	}
	oldest := now.Add(-LiveReplay + replaySlack).UnixNano()
	margin := lr.Margin.Nanoseconds()
	starts := make([]int64, len(lr.Streams))
	for i, s := range lr.Streams {
		var start, from int64
		p, ok := pos[s.String()]
		switch {
		case ok:
			start, from = p.Time, p.Time
			if !replayFiltersOnIndex(s) {
				start -= margin
			}
		case lr.Start != 0:
			start, from = lr.Start, lr.Start
		case earliest != 0:
			start, from = earliest-margin, earliest
		}
		if start != 0 && start < oldest {
			switch {
			case from >= oldest:
				start = oldest
			case ok || earliest != 0:
				return nil, permanent("databento live: %s was stored up to %s, before the Live API's replay window (the last %s): fill the gap with a historical run (hdi ingest) and start the feed again",
					s, fmtNS(from), LiveReplay)
			default:
				return nil, sdk.FieldError("start", "%s is before the Live API's replay window (the last %s): load the earlier part with hdi ingest and stream from within the window",
					fmtNS(from), LiveReplay)
			}
		}
		starts[i] = start
	}
	return starts, nil
}

// fetchLive runs a live unit until ctx ends or the feed fails (a cut, an
// EOF, a silent gateway: ErrorRetryable, and the host fetches again with
// Resume).
func fetchLive(ctx context.Context, cfg *config, req *sdk.FetchRequest, out sdk.Sender) error {
	lr, err := parseLiveJob(req.Job)
	if err != nil {
		return err
	}
	if err := cfg.needKey(); err != nil {
		return err
	}
	starts, err := lr.subscriptionStarts(req.Resume, time.Now())
	if err != nil {
		return err
	}
	rows := req.BatchRows
	if rows <= 0 {
		rows = sdk.DefaultBatchRows
	}
	lc, err := dialLive(ctx, liveAddr(cfg, lr.Dataset), cfg, lr)
	if err != nil {
		return err
	}
	defer lc.close()
	if err := lc.subscribe(lr, starts); err != nil {
		return lc.cut(ctx, err, "subscribing")
	}
	f := newLiveFeed(out, lr, rows, cfg.APIKey, starts)
	return f.run(ctx, lc)
}
