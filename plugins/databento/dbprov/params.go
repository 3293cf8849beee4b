package dbprov

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// AllSymbols is Databento's symbol for every instrument of a dataset.
const AllSymbols = "ALL_SYMBOLS"

// MaxSymbolsPerRequest is Databento's documented limit of symbols per
// timeseries.get_range (and metadata, symbology) request.
const MaxSymbolsPerRequest = 2000

// stypeNames lists the symbology types a job may use (smart is gone from
// the API).
var stypeNames = []string{
	"instrument_id", "raw_symbol", "continuous", "parent", "nasdaq_symbol", "cms_symbol",
	"isin", "us_code", "bbg_comp_id", "bbg_comp_ticker", "figi", "figi_ticker",
}

// params is what Describe declares of the job parameters (Job.Params).
var params = []sdk.Param{
	{Name: "source", Type: sdk.ParamString, Allowed: []string{"api", "files"}, Description: "api (historical API) or files (local DBN files); default: files when the job names files, else api", Scope: sdk.ScopeHistory},
	{Name: "schema", Type: sdk.ParamString, Description: "the Databento schema, when it differs from the stream's name (default: the job's stream)"},
	{Name: "chunk", Type: sdk.ParamChunk, Description: "API unit length (as chunking.time); default per schema: 1d for tick schemas, 1w for 1s bars/bbo/cbbo, 1mo for 1m, 1y for 1h/1d/eod bars and definitions", Scope: sdk.ScopeHistory},
	{Name: "stype_in", Type: sdk.ParamString, Allowed: stypeNames, Description: "input symbology (as source.stype_in; default raw_symbol)"},
	{Name: "stype_out", Type: sdk.ParamString, Allowed: stypeNames, Description: "output symbology (as source.stype_out; default instrument_id)"},
	{Name: "resolve", Type: sdk.ParamBool, Default: "true", HasDefault: true, Description: "call symbology.resolve when the data carries no symbol mappings", Scope: sdk.ScopeHistory},
	{Name: "parts", Type: sdk.ParamInt, Description: "files: units per file, loaded in parallel (1..64; default 2 for a file of 8 MiB or more, else 1)", Scope: sdk.ScopeHistory},
	{Name: "delivery", Type: sdk.ParamString, Allowed: []string{"auto", "stream", "batch"}, Default: "auto", HasDefault: true, Description: "api: stream (timeseries.get_range), batch (a batch job: files downloaded, verified, then loaded) or auto (batch for a unit estimated at batch_min_bytes or more)", Scope: sdk.ScopeHistory},
	{Name: "batch_min_bytes", Type: sdk.ParamInt, Default: strconv.FormatInt(DefaultBatchMinBytes, 10), HasDefault: true, Description: "delivery auto: the estimated size from which a unit goes by batch delivery", Scope: sdk.ScopeHistory},
	{Name: "heartbeat_interval_s", Type: sdk.ParamInt, Default: strconv.Itoa(DefaultHeartbeatS), HasDefault: true, Description: "live: seconds without data after which the gateway sends a heartbeat (5..1800); nothing for twice as long ends the connection, which then resumes", Scope: sdk.ScopeLive},
	{Name: "compression", Type: sdk.ParamString, Allowed: []string{"none", "zstd"}, Default: "none", HasDefault: true, Description: "live: compression of the gateway's stream", Scope: sdk.ScopeLive},
	{Name: "ts_out", Type: sdk.ParamBool, Default: "false", HasDefault: true, Description: "live: the gateway stamps each record with its send time (column ts_out)", Scope: sdk.ScopeLive},
	{Name: "slow_reader_behavior", Type: sdk.ParamString, Allowed: []string{"warn", "skip"}, Default: "warn", HasDefault: true, Description: "live: when hdi reads too slowly, the gateway keeps every record and warns (warn), or drops records to catch up (skip: hdi then reconnects and replays what was dropped)", Scope: sdk.ScopeLive},
	{Name: "snapshot", Type: sdk.ParamBool, Default: "false", HasDefault: true, Description: "live, mbo only: a feed started afresh (no start, nothing to resume) begins with a snapshot of the order books", Scope: sdk.ScopeLive},
	{Name: "replay_margin", Type: sdk.ParamDuration, Default: DefaultReplayMargin.String(), HasDefault: true, Description: "live: a stream resumes this long before its last stored record, because the gateway's replay filters on ts_event and positions are ts_recv", Scope: sdk.ScopeLive},
	{Name: "flush_interval", Type: sdk.ParamDuration, Default: DefaultFlushInterval.String(), HasDefault: true, Description: "live: longest time a received record waits before it is sent on to the database", Scope: sdk.ScopeLive},
}

// liveParams are the params only a live job takes; historyParams those
// only a historical one takes.
var liveParams, historyParams = sdk.OutOfScope(params, false), sdk.OutOfScope(params, true)

// DefaultBatchMinBytes is where delivery auto turns to batch jobs.
const DefaultBatchMinBytes = 2_000_000_000

// Symbol forms, checked against stype_in; dataset codes are VENUE.FEED in
// upper case.
var (
	datasetRe    = regexp.MustCompile(`^[A-Z0-9]{2,}\.[A-Z0-9]{2,}$`)
	continuousRe = regexp.MustCompile(`^[^.\s]+\.[cnv]\.[0-9]+$`)
	parentRe     = regexp.MustCompile(`^[^.\s]+\.(FUT|OPT)$`)
)

// request is a validated job.
type request struct {
	Source   string // "api" or "files"
	Dataset  string
	Schema   dbn.Schema
	Symbols  []string // sorted, deduplicated; [ALL_SYMBOLS] when none given
	StypeIn  dbn.SType
	StypeOut dbn.SType
	Range    timerange.Range // zero for files without a range
	Limit    int64
	Chunk    timerange.Chunk
	ChunkSet bool // the job chose the chunk (else the per-schema default)
	Resolve  bool
	Files    []string
	Parts    int  // units per file; 0: by size (autoParts)
	Replace  bool // the host deletes unit ranges: one unit per file
	// Delivery is auto, stream or batch; BatchMinBytes the auto threshold.
	Delivery      string
	BatchMinBytes int64
}

func checkDataset(ds string) error {
	if !datasetRe.MatchString(ds) {
		return sdk.FieldError("dataset", "%q is not a Databento dataset code: want VENUE.FEED in upper case, such as GLBX.MDP3, XNAS.ITCH, DBEQ.BASIC or OPRA.PILLAR", ds)
	}
	return nil
}

// parseJob validates everything about a job before any request is made.
// Its errors name the job field they are about (sdk.FieldError).
func parseJob(job *sdk.Job, cfg *config) (*request, error) {
	p, err := sdk.ParseParams("params", params, job.Params)
	if err != nil {
		return nil, err
	}
	for _, name := range liveParams {
		if p.Has(name) {
			return nil, sdk.FieldError("params."+name, "is for live feeds (hdi stream): drop it from this job")
		}
	}
	r := &request{Files: job.Files, Resolve: p.Bool("resolve"), Delivery: p.String("delivery"), BatchMinBytes: p.Int("batch_min_bytes")}
	if r.BatchMinBytes < 1 {
		return nil, sdk.FieldError("params.batch_min_bytes", "%d: want a size in bytes, 1 or more", r.BatchMinBytes)
	}
	r.Source = firstOf(p.String("source"), cfg.Source)
	if r.Source == "" {
		r.Source = "api"
		if len(job.Files) > 0 {
			r.Source = "files"
		}
	}
	if r.Source == "files" && len(job.Files) == 0 {
		return nil, sdk.FieldError("files", "source files needs files: give --file PATH, or files: in the job")
	}
	if r.Source == "api" && len(job.Files) > 0 {
		return nil, sdk.FieldError("params.source", "the job names files but source is api: drop the files or set source to files")
	}

	// Schema: the param, the stream, or (files) the files' metadata.
	schemaName := p.String("schema")
	if job.Stream != "" {
		if schemaName != "" && schemaName != job.Stream {
			return nil, sdk.FieldError("params.schema", "%q differs from the stream %q: the stream is named after the schema; give one of them", schemaName, job.Stream)
		}
		schemaName = job.Stream
	}
	r.Schema = dbn.SchemaNone
	if schemaName != "" {
		s, err := dbn.ParseSchema(schemaName)
		if err != nil {
			return nil, sdk.FieldError("schema", "%q is not a Databento schema: want one of %s", schemaName, schemaList())
		}
		r.Schema = s
	} else if r.Source == "api" {
		return nil, sdk.FieldError("schema", "is required: one of %s", schemaList())
	}

	r.Dataset = strings.TrimSpace(job.Dataset)
	if r.Dataset != "" {
		if err := checkDataset(r.Dataset); err != nil {
			return nil, err
		}
	} else if r.Source == "api" {
		return nil, sdk.FieldError("dataset", "is required: a dataset code such as GLBX.MDP3")
	}

	if r.StypeIn, err = parseSType("stype_in", firstOf(p.String("stype_in"), job.StypeIn), dbn.STypeRawSymbol); err != nil {
		return nil, err
	}
	if r.StypeOut, err = parseSType("stype_out", firstOf(p.String("stype_out"), job.StypeOut), dbn.STypeInstrumentID); err != nil {
		return nil, err
	}
	if p.Has("parts") {
		n := p.Int("parts")
		if n < 1 || n > maxParts {
			return nil, sdk.FieldError("params.parts", "%q: want a whole number from 1 to %d", p.String("parts"), maxParts)
		}
		r.Parts = int(n)
	}

	if r.Symbols, err = normSymbols(job.Symbols, r.StypeIn, r.Source == "api"); err != nil {
		return nil, err
	}

	// A range is set when end > start; start 0 is 1970-01-01, not "unset".
	if rg, ok := job.Range(); ok {
		r.Range = rg
	} else if job.Start != 0 || job.End != 0 {
		return nil, sdk.FieldError("end", "%s is not after the start %s", fmtNS(job.End), fmtNS(job.Start))
	} else if r.Source == "api" {
		return nil, sdk.FieldError("start", "is required for the API source: a date such as 2024-01-02, or -30d")
	}
	if job.Limit < 0 {
		return nil, sdk.FieldError("limit", "%d: want 0 (none) or a positive count", job.Limit)
	}
	r.Limit = job.Limit
	r.Replace = job.Replace

	r.Chunk, r.ChunkSet = job.Chunking.Length, !job.Chunking.Length.IsZero()
	if p.Has("chunk") {
		r.Chunk, r.ChunkSet = p.Chunk("chunk"), true
	}
	if !r.ChunkSet {
		r.Chunk = defaultChunk(r.Schema)
	}
	return r, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func fmtNS(ns int64) string { return timerange.Format(time.Unix(0, ns)) }

func schemaList() string {
	names := make([]string, 0, 20)
	for _, s := range dbn.Schemas() {
		names = append(names, s.String())
	}
	return strings.Join(names, ", ")
}

func parseSType(field, v string, def dbn.SType) (dbn.SType, error) {
	if v == "" {
		return def, nil
	}
	s, err := dbn.ParseSType(v)
	if err != nil || s == dbn.STypeSmart {
		return 0, sdk.FieldError(field, "%q is not a Databento symbology type: want one of %s", v, strings.Join(stypeNames, ", "))
	}
	return s, nil
}

// normSymbols trims, deduplicates and sorts the symbols (so symbol groups
// and unit keys do not depend on the order given) and checks each against
// stype_in. The API needs symbols; files may be given none.
func normSymbols(in []string, stypeIn dbn.SType, api bool) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for i, s := range in {
		s = strings.TrimSpace(s)
		field := fmt.Sprintf("symbols[%d]", i)
		switch {
		case s == "":
			return nil, sdk.FieldError(field, "empty symbol")
		case strings.ContainsAny(s, ",\n"):
			return nil, sdk.FieldError(field, "%q contains a comma or newline: give symbols as a list", s)
		case strings.EqualFold(s, AllSymbols):
			s = AllSymbols
		default:
			if err := checkSymbol(field, s, stypeIn); err != nil {
				return nil, err
			}
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		if api {
			return nil, sdk.FieldError("symbols", "are required for the API source: symbols, or ALL_SYMBOLS for the whole dataset")
		}
		return []string{AllSymbols}, nil
	}
	if seen[AllSymbols] && len(out) > 1 {
		return nil, sdk.FieldError("symbols", "ALL_SYMBOLS cannot be combined with other symbols")
	}
	slices.Sort(out)
	return out, nil
}

// checkSymbol checks a symbol's form against its symbology type.
func checkSymbol(field, s string, stypeIn dbn.SType) error {
	switch stypeIn {
	case dbn.STypeContinuous:
		if !continuousRe.MatchString(s) {
			return sdk.FieldError(field, "%q is not a continuous symbol: want ROOT.c.N, ROOT.n.N or ROOT.v.N, e.g. ES.c.0", s)
		}
	case dbn.STypeParent:
		if !parentRe.MatchString(s) {
			return sdk.FieldError(field, "%q is not a parent symbol: want ROOT.FUT or ROOT.OPT, e.g. ES.FUT", s)
		}
	case dbn.STypeInstrumentID:
		if _, err := strconv.ParseUint(s, 10, 32); err != nil {
			return sdk.FieldError(field, "%q is not an instrument ID (a whole number), but stype_in is instrument_id", s)
		}
	case dbn.STypeRawSymbol:
		if continuousRe.MatchString(s) {
			return sdk.FieldError(field, "%q is a continuous symbol: set stype_in to continuous", s)
		}
		if parentRe.MatchString(s) {
			return sdk.FieldError(field, "%q is a parent symbol: set stype_in to parent", s)
		}
	}
	return nil
}

// symbolGroups cuts sorted symbols into groups of at most n.
func symbolGroups(syms []string, n int) [][]string {
	if n <= 0 || n > MaxSymbolsPerRequest {
		n = MaxSymbolsPerRequest
	}
	var out [][]string
	for len(syms) > n {
		out = append(out, syms[:n])
		syms = syms[n:]
	}
	return append(out, syms)
}

// symbolsTag names a symbol group in unit keys: ALL_SYMBOLS, or a hash of
// the sorted symbols.
func symbolsTag(syms []string) string {
	if len(syms) == 1 && syms[0] == AllSymbols {
		return AllSymbols
	}
	h := sha256.Sum256([]byte(strings.Join(syms, ",")))
	return "s" + hex.EncodeToString(h[:8])
}

// defaultChunk is the unit time span when the job does not choose one:
// a day for tick schemas, a week for 1s bars, a month for 1m bars, a year
// for hourly and daily bars and for definitions.
func defaultChunk(s dbn.Schema) timerange.Chunk {
	v := "1d"
	switch s {
	case dbn.SchemaOhlcv1S, dbn.SchemaBbo1S, dbn.SchemaCbbo1S:
		v = "1w"
	case dbn.SchemaOhlcv1M, dbn.SchemaBbo1M, dbn.SchemaCbbo1M:
		v = "1mo"
	case dbn.SchemaOhlcv1H, dbn.SchemaOhlcv1D, dbn.SchemaOhlcvEod, dbn.SchemaDefinition:
		v = "1y"
	}
	c, _ := timerange.ParseChunk(v)
	return c
}

// unitKey builds the stable key of an API unit of the symbol group tagged
// tag (symbolsTag).
func unitKey(r *request, tag string, rg timerange.Range) string {
	k := fmt.Sprintf("databento:%s:%s:%s:%s:%s/%s", r.Dataset, r.Schema, r.StypeIn, tag,
		timerange.Format(rg.Start), timerange.Format(rg.End))
	if r.Limit > 0 {
		k += fmt.Sprintf(":limit=%d", r.Limit)
	}
	return k
}
