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
	"github.com/hdi-dev/hdi/internal/timerange"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// AllSymbols is Databento's symbol for every instrument of a dataset.
const AllSymbols = "ALL_SYMBOLS"

// MaxSymbolsPerRequest is Databento's documented limit of symbols per
// timeseries.get_range (and metadata, symbology) request.
const MaxSymbolsPerRequest = 2000

// params lists the job parameters (Job.Params) this provider accepts.
var params = map[string]string{
	"source":    "api or files",
	"schema":    "the Databento schema (default: the job's stream)",
	"chunk":     "unit time span: 1d, 1w, 1mo, 1y, 6h, ... or none",
	"stype_in":  "input symbology (default raw_symbol)",
	"stype_out": "output symbology (default instrument_id)",
	"resolve":   "true/false: call symbology.resolve when the data carries no mappings (default true)",
	"parts":     "files: units per file, loaded in parallel (default 2 for a file of 8 MiB or more, else 1)",
}

// datasetRe: Databento dataset codes are VENUE.FEED in upper case.
var datasetRe = regexp.MustCompile(`^[A-Z0-9]{2,}\.[A-Z0-9]{2,}$`)

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
}

func checkDataset(ds string) error {
	if !datasetRe.MatchString(ds) {
		return invalidArg("dataset %q: want a Databento dataset code such as GLBX.MDP3 or XNAS.ITCH (VENUE.FEED, upper case)", ds)
	}
	return nil
}

// parseJob validates everything about a job before any request is made.
func parseJob(job *sdk.Job, cfg *config) (*request, error) {
	p := job.Params
	for k := range p {
		if _, ok := params[k]; !ok {
			names := make([]string, 0, len(params))
			for n := range params {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, invalidArg("databento: unknown parameter %q (known: %s)", k, strings.Join(names, ", "))
		}
	}
	r := &request{Files: job.Files, Resolve: true}
	r.Source = p["source"]
	if r.Source == "" {
		r.Source = cfg.Source
	}
	if r.Source == "" {
		r.Source = "api"
		if len(job.Files) > 0 {
			r.Source = "files"
		}
	}
	switch r.Source {
	case "api", "files":
	default:
		return nil, invalidArg("databento: source %q: want api or files", r.Source)
	}
	if r.Source == "files" && len(job.Files) == 0 {
		return nil, invalidArg("databento: source files needs files (hdi ingest --provider databento --file PATH, or files: in the job)")
	}
	if r.Source == "api" && len(job.Files) > 0 {
		return nil, invalidArg("databento: the job names files but source is api: drop the files or set source: files")
	}

	// Schema: the param, the stream, or (files) the files' metadata.
	schemaName := p["schema"]
	if job.Stream != "" {
		if schemaName != "" && schemaName != job.Stream {
			return nil, invalidArg("databento: schema %q and stream %q differ: the stream is named after the schema; give one of them", schemaName, job.Stream)
		}
		schemaName = job.Stream
	}
	r.Schema = dbn.SchemaNone
	if schemaName != "" {
		s, err := dbn.ParseSchema(schemaName)
		if err != nil {
			return nil, invalidArg("databento: unknown schema %q: want one of %s", schemaName, schemaList())
		}
		r.Schema = s
	} else if r.Source == "api" {
		return nil, invalidArg("databento: no schema: set the job's stream (or param schema) to one of %s", schemaList())
	}

	r.Dataset = strings.TrimSpace(job.Dataset)
	if r.Dataset != "" {
		if err := checkDataset(r.Dataset); err != nil {
			return nil, err
		}
	} else if r.Source == "api" {
		return nil, invalidArg("databento: no dataset: set dataset to a code such as GLBX.MDP3")
	}

	var err error
	if r.StypeIn, err = parseSType("stype_in", firstOf(p["stype_in"], job.StypeIn), dbn.STypeRawSymbol); err != nil {
		return nil, err
	}
	if r.StypeOut, err = parseSType("stype_out", firstOf(p["stype_out"], job.StypeOut), dbn.STypeInstrumentID); err != nil {
		return nil, err
	}
	if v := p["resolve"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, invalidArg("databento: resolve %q: want true or false", v)
		}
		r.Resolve = b
	}
	if v := p["parts"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxParts {
			return nil, invalidArg("databento: parts %q: want a whole number from 1 to %d", v, maxParts)
		}
		r.Parts = n
	}

	if r.Symbols, err = normSymbols(job.Symbols, r.StypeIn); err != nil {
		return nil, err
	}

	if job.Start != 0 || job.End != 0 {
		if job.Start == 0 || job.End == 0 {
			return nil, invalidArg("databento: give both start and end (got only one)")
		}
		if job.End <= job.Start {
			return nil, invalidArg("databento: end %s is not after start %s", fmtNS(job.End), fmtNS(job.Start))
		}
		r.Range = timerange.Range{Start: time.Unix(0, job.Start).UTC(), End: time.Unix(0, job.End).UTC()}
	} else if r.Source == "api" {
		return nil, invalidArg("databento: the API source needs a start and an end")
	}
	if job.Limit < 0 {
		return nil, invalidArg("databento: limit %d: want 0 (none) or a positive count", job.Limit)
	}
	r.Limit = job.Limit
	r.Replace = job.Replace

	if r.Chunk, r.ChunkSet, err = parseChunking(job, r.Schema); err != nil {
		return nil, err
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

func parseSType(param, v string, def dbn.SType) (dbn.SType, error) {
	if v == "" {
		return def, nil
	}
	s, err := dbn.ParseSType(v)
	if err != nil || s == dbn.STypeSmart {
		return 0, invalidArg("databento: unknown %s %q: want one of instrument_id, raw_symbol, continuous, parent, nasdaq_symbol, cms_symbol, isin, us_code, bbg_comp_id, bbg_comp_ticker, figi, figi_ticker", param, v)
	}
	return s, nil
}

// normSymbols trims, deduplicates and sorts the symbols (so symbol groups
// and unit keys do not depend on the order given) and checks them.
func normSymbols(in []string, stypeIn dbn.SType) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return nil, invalidArg("databento: empty symbol in symbols")
		case strings.ContainsAny(s, ",\n"):
			return nil, invalidArg("databento: symbol %q contains a comma or newline: give symbols as a list", s)
		case strings.EqualFold(s, AllSymbols):
			s = AllSymbols
		case stypeIn == dbn.STypeInstrumentID:
			if _, err := strconv.ParseUint(s, 10, 32); err != nil {
				return nil, invalidArg("databento: symbol %q is not an instrument ID, but stype_in is instrument_id", s)
			}
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return []string{AllSymbols}, nil
	}
	if seen[AllSymbols] && len(out) > 1 {
		return nil, invalidArg("databento: ALL_SYMBOLS cannot be combined with other symbols")
	}
	slices.Sort(out)
	return out, nil
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
func defaultChunk(s dbn.Schema) string {
	switch s {
	case dbn.SchemaOhlcv1S, dbn.SchemaBbo1S, dbn.SchemaCbbo1S:
		return "1w"
	case dbn.SchemaOhlcv1M, dbn.SchemaBbo1M, dbn.SchemaCbbo1M:
		return "1mo"
	case dbn.SchemaOhlcv1H, dbn.SchemaOhlcv1D, dbn.SchemaOhlcvEod, dbn.SchemaDefinition:
		return "1y"
	}
	return "1d"
}

func parseChunking(job *sdk.Job, s dbn.Schema) (timerange.Chunk, bool, error) {
	v := job.Params["chunk"]
	if v == "" {
		switch job.Chunking.Period {
		case "":
		case "day":
			v = "1d"
		case "week":
			v = "1w"
		case "month":
			v = "1mo"
		case "none":
			v = "none"
		default:
			return timerange.Chunk{}, false, invalidArg("databento: chunking period %q: want day, week, month or none", job.Chunking.Period)
		}
	}
	set := v != ""
	if v == "none" {
		return timerange.Chunk{}, true, nil
	}
	if v == "" {
		v = defaultChunk(s)
	}
	c, err := timerange.ParseChunk(v)
	if err != nil {
		return timerange.Chunk{}, false, invalidArg("databento: chunk: %v", err)
	}
	return c, set, nil
}

// unitKey builds the stable key of an API unit.
func unitKey(r *request, syms []string, rg timerange.Range) string {
	k := fmt.Sprintf("databento:%s:%s:%s:%s:%s/%s", r.Dataset, r.Schema, r.StypeIn, symbolsTag(syms),
		timerange.Format(rg.Start), timerange.Format(rg.End))
	if r.Limit > 0 {
		k += fmt.Sprintf(":limit=%d", r.Limit)
	}
	return k
}
