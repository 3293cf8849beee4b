package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/status"
)

// routes registers the API on api (huma, for the spec and the typed JSON
// operations) and g (the streaming operations, added to the spec by hand).
func (s *Server) routes(ctx context.Context, api huma.API, g chi.Router) error {
	qs, err := s.typedQueries(ctx)
	if err != nil {
		return err
	}
	huma.Register(api, huma.Operation{OperationID: "list-queries", Method: http.MethodGet, Path: "/api/v1/queries",
		Summary: "The read queries with their typed parameters", Tags: []string{"queries"}},
		func(context.Context, *struct{}) (*queriesOut, error) {
			out := &queriesOut{}
			out.Body = qs
			return out, nil
		})
	for _, q := range qs {
		s.queryRoute(api, g, q)
	}
	for _, kind := range append(append([]string{}, query.SymbolKinds...), "resolve") {
		s.symbolRoute(api, g, kind)
	}
	if err := s.coverageRoute(api, g); err != nil {
		return err
	}
	huma.Register(api, huma.Operation{OperationID: "list-runs", Method: http.MethodGet, Path: "/api/v1/runs",
		Summary: "Ingest runs, newest first", Tags: []string{"runs"}, Errors: []int{400, 503, 504}}, s.listRuns)
	huma.Register(api, huma.Operation{OperationID: "get-run", Method: http.MethodGet, Path: "/api/v1/runs/{id}",
		Summary: "One run with its units (a queued run's: their states and workers)", Tags: []string{"runs"}, Errors: []int{400, 404, 503, 504}}, s.getRun)
	huma.Register(api, huma.Operation{OperationID: "list-streams", Method: http.MethodGet, Path: "/api/v1/streams",
		Summary: "Live streams (hdi stream): state, last committed record, lag, rows per second, reconnects", Tags: []string{"runs"}, Errors: []int{503, 504}}, s.listStreams)
	s.accessRoutes(api, g)
	huma.Register(api, huma.Operation{OperationID: "list-jobs", Method: http.MethodGet, Path: "/api/v1/jobs",
		Summary: "The jobs (built in and of the jobs directory), with their schedules", Tags: []string{"jobs"}}, s.listJobs)
	return nil
}

// queryDoc is a catalog query as GET /api/v1/queries lists it.
type queryDoc struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Source      string        `json:"source"`
	Path        string        `json:"path"`
	Params      []query.Param `json:"params"`
	// Chart is the query's `-- @chart` annotation: overlay, pane or "".
	Chart string `json:"chart" doc:"where hdi serve's chart draws the result: overlay (price scale), pane (a pane below) or empty (not annotated)"`
	q     *query.Query
}

type queriesOut struct{ Body []queryDoc }

// typedQueries prepares every catalog query once, for its parameters'
// PostgreSQL types (the spec and the listing publish them).
func (s *Server) typedQueries(ctx context.Context) ([]queryDoc, error) {
	conn, err := s.opts.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	defer conn.Release()
	var out []queryDoc
	for _, q := range s.opts.Catalog.Queries() {
		p, err := query.Prepare(ctx, conn.Conn(), q)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		d := queryDoc{Name: q.Name, Description: q.Description, Source: q.Source, Path: "/api/v1/queries/" + q.Name, Chart: q.Chart, q: q}
		for _, prm := range p.Params {
			if prm.Name != "row_limit" { // the API's limit sets it
				d.Params = append(d.Params, prm)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// dataResponses are the media types of a streamed result.
func dataResponses(what string) map[string]*huma.Response {
	content := map[string]*huma.MediaType{}
	for _, mt := range acceptable {
		content[mt] = &huma.MediaType{}
	}
	content["application/json"] = &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeArray, Items: &huma.Schema{Type: huma.TypeObject}}}
	problem := map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}
	return map[string]*huma.Response{
		"200":     {Description: what + " (format=json|ndjson|csv|parquet, or Accept). Headers: Hdi-Row-Cap; trailer Hdi-Truncated.", Content: content},
		"400":     {Description: "A parameter is wrong: the problem names it (errors[].location = query.NAME).", Content: problem},
		"404":     {Description: "Nothing of that name (a symbol, a query).", Content: problem},
		"503":     {Description: "The database is unavailable: retry after Retry-After seconds.", Content: problem},
		"504":     {Description: "The query ran longer than the server's statement timeout.", Content: problem},
		"default": {Description: "Error", Content: problem},
	}
}

// outputDocs are the parameters every data operation takes.
func outputDocs() []*huma.Param {
	return []*huma.Param{
		{Name: "format", In: "query", Description: "json (default), ndjson, csv or parquet; overrides Accept", Schema: &huma.Schema{Type: huma.TypeString, Enum: []any{"json", "ndjson", "csv", "parquet"}}},
		{Name: "limit", In: "query", Description: "at most this many rows (the server caps every response; the Hdi-Truncated trailer says when it cut one)", Schema: &huma.Schema{Type: huma.TypeInteger, Minimum: ptr(1.0)}},
		{Name: "tz", In: "query", Description: "show times in this IANA zone (default UTC)", Schema: &huma.Schema{Type: huma.TypeString}},
		{Name: "raw", In: "query", Description: "prices and ns times as the stored integers", Schema: &huma.Schema{Type: huma.TypeBoolean}},
	}
}

func ptr[T any](v T) *T { return &v }

// paramSchema is the JSON Schema of a query parameter's PostgreSQL type,
// as the query string carries it (lists comma-separated, times as hdi
// reads them).
func paramSchema(pgType string) *huma.Schema {
	switch {
	case strings.HasSuffix(pgType, "[]"):
		return &huma.Schema{Type: huma.TypeString, Description: "comma-separated"}
	case pgType == "bigint" || pgType == "integer" || pgType == "smallint":
		return &huma.Schema{Type: huma.TypeInteger}
	case pgType == "boolean":
		return &huma.Schema{Type: huma.TypeBoolean}
	case pgType == "double precision" || pgType == "real":
		return &huma.Schema{Type: huma.TypeNumber}
	case strings.HasPrefix(pgType, "timestamp") || pgType == "date":
		return &huma.Schema{Type: huma.TypeString, Description: "YYYY-MM-DD, RFC 3339, or relative (today, -7d)"}
	}
	return &huma.Schema{Type: huma.TypeString}
}

// queryRoute serves one catalog query at /api/v1/queries/NAME with the
// binding and validation of `hdi query NAME --param ...`.
func (s *Server) queryRoute(api huma.API, g chi.Router, d queryDoc) {
	op := &huma.Operation{OperationID: "query-" + d.Name, Method: http.MethodGet, Path: d.Path,
		Summary: firstSentence(d.Description), Description: d.Description + "\n\nSource: " + d.Source, Tags: []string{"queries"},
		Responses: dataResponses("The query's rows")}
	var names []string
	for _, p := range d.Params {
		op.Parameters = append(op.Parameters, &huma.Param{Name: p.Name, In: "query", Required: !p.Optional,
			Description: strings.TrimSpace(p.Description + " (" + p.Type + ")"), Schema: paramSchema(p.Type)})
		names = append(names, p.Name)
	}
	op.Parameters = append(op.Parameters, outputDocs()...)
	api.OpenAPI().AddOperation(op)
	g.Get(d.Path, func(w http.ResponseWriter, r *http.Request) {
		o, ok := requestOutput(w, r, names)
		if !ok {
			return
		}
		values := map[string]any{}
		for _, n := range names {
			if v, ok := r.URL.Query()[n]; ok {
				values[n] = v[len(v)-1]
			}
		}
		s.stream(w, r, o, fixedPlan(d.q, values))
	})
}

// symbolParams are the query-string parameters of each symbol endpoint.
var symbolParams = map[string][]string{
	"bars":        {"symbols", "start", "end", "dataset", "interval", "adjust"},
	"trades":      {"symbols", "start", "end", "dataset"},
	"tbbo":        {"symbols", "start", "end", "dataset"},
	"statistics":  {"symbols", "start", "end", "dataset", "stat", "daily"},
	"definitions": {"symbols", "start", "end", "dataset"},
	"resolve":     {"symbols", "start", "end", "dataset"},
}

var symbolDocs = map[string]string{
	"symbols":  "symbols, comma-separated: raw (ESH4), parent (ES.FUT), continuous (ES.c.0) or instrument ids",
	"start":    "first day (YYYY-MM-DD) or instant (RFC 3339), included; or relative (-7d, yesterday)",
	"end":      "last day (YYYY-MM-DD, included) or instant (RFC 3339, excluded); or relative (today)",
	"dataset":  "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)",
	"interval": "1s, 1m, 5m, 15m, 1h, 1d (default), eod, 1h-rollup, trades-1m, or any N of s, m, h, d, w (3m, 4h, 2d, 1w): resampled from the finest stored bars whose width divides it (else trades), buckets counted from Monday 1970-01-05 00:00 UTC",
	"adjust":   "continuous symbols: none (default), ratio or difference: back-adjusted at each roll (docs/queries.md)",
	"stat":     "settlement, open_interest, volume or all (default)",
	"daily":    "one row per symbol, instrument and day: settlement, open interest, cleared volume",
}

// symbolRoute serves GET /api/v1/KIND as `hdi query KIND` (resolve: the
// per-day symbol resolution, /api/v1/symbols/resolve).
func (s *Server) symbolRoute(api huma.API, g chi.Router, kind string) {
	path := "/api/v1/" + kind
	summary := "The " + kind + " of symbols over a date range, as `hdi query " + kind + "`"
	if kind == "resolve" {
		path, summary = "/api/v1/symbols/resolve", "What each symbol named on each UTC day of the range: instrument and raw symbol"
	}
	op := &huma.Operation{OperationID: "symbol-" + kind, Method: http.MethodGet, Path: path, Summary: summary,
		Tags: []string{"symbols"}, Responses: dataResponses("The rows")}
	for _, p := range symbolParams[kind] {
		sc := &huma.Schema{Type: huma.TypeString}
		switch p {
		case "interval":
			sc.Pattern, sc.Default = `^(eod|1h-rollup|trades-1m|[0-9]+[smhdw])$`, "1d"
		case "adjust":
			sc.Enum, sc.Default = []any{"none", "ratio", "difference"}, "none"
		case "stat":
			sc.Enum = []any{"settlement", "open_interest", "volume", "all"}
		case "daily":
			sc = &huma.Schema{Type: huma.TypeBoolean}
		}
		op.Parameters = append(op.Parameters, &huma.Param{Name: p, In: "query", Required: p == "symbols" || p == "start" || p == "end",
			Description: symbolDocs[p], Schema: sc})
	}
	op.Parameters = append(op.Parameters, outputDocs()...)
	api.OpenAPI().AddOperation(op)
	g.Get(path, func(w http.ResponseWriter, r *http.Request) {
		o, ok := requestOutput(w, r, symbolParams[kind])
		if !ok {
			return
		}
		q := r.URL.Query()
		// No Limit here: stream owns it, setting row_limit where the query
		// has one (ResolveSymbols has none) and cutting the rows.
		req := query.SymbolRequest{Kind: kind, Symbols: query.SplitList(q.Get("symbols")), Start: q.Get("start"), End: q.Get("end"),
			Dataset: q.Get("dataset"), Interval: q.Get("interval"), Adjust: q.Get("adjust"), Stat: q.Get("stat")}
		if req.Interval == "" {
			req.Interval = "1d"
		}
		if v := q.Get("daily"); v != "" {
			var err error
			if req.Daily, err = strconv.ParseBool(v); err != nil {
				writeProblem(w, r, badParam("daily", "daily: %q: want true or false", v))
				return
			}
		}
		sq, err := req.Plan(s.opts.Catalog)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.stream(w, r, o, func(ctx context.Context, conn *pgx.Conn, rowLimit int64) (*query.Query, pgx.Rows, error) {
			try := *sq // Open completes the query in place: each try starts from the plan
			try.Values = maps.Clone(sq.Values)
			return try.Open(ctx, conn, &s.datasets, rowLimit)
		})
	})
}

func firstSentence(s string) string {
	first, _, _ := strings.Cut(s, ". ")
	return strings.TrimSuffix(first, ".")
}

// coverageRoute serves GET /api/v1/coverage: rows loaded per table,
// instrument and UTC day, week or month, as counted at load time.
func (s *Server) coverageRoute(api huma.API, g chi.Router) error {
	cq, err := s.opts.Catalog.Lookup("CoverageDaily", "")
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	params := []struct{ name, param, doc string }{
		{"start", "start_day", "first day, included (default: the first loaded)"},
		{"end", "end_day", "last day, included (default: the last loaded)"},
		{"table", "table_name", "only this table (trades, ohlcv_1d, ...)"},
		{"dataset", "dataset", "only this dataset"},
		{"symbols", "symbols", "only what these symbols named on each day, comma-separated (ES.c.0, ESH4, 5482); the symbol column says which"},
		{"bucket", "bucket", "day (default), week (ISO, from Monday), month, or auto: days up to 100 days of range, weeks up to 100 weeks, months beyond"},
	}
	var known []string
	op := &huma.Operation{OperationID: "coverage", Method: http.MethodGet, Path: "/api/v1/coverage", Tags: []string{"coverage"},
		Summary: "Rows loaded per table, instrument and UTC day, week or month (counted at load time: no scan of the data)",
		Description: "The CoverageDaily query. Each row: table, dataset, instrument, its raw symbol in the period (null when no mapping or definition names it), " +
			"the period's first day, its bucket, the days in it with rows, the row count and the first and last timestamps.",
		Responses: dataResponses("One row per table, dataset, instrument and period")}
	for _, p := range params {
		known = append(known, p.name)
		sc := &huma.Schema{Type: huma.TypeString}
		if p.name == "bucket" {
			sc.Enum, sc.Default = []any{"day", "week", "month", "auto"}, "day"
		}
		op.Parameters = append(op.Parameters, &huma.Param{Name: p.name, In: "query", Description: p.doc, Schema: sc})
	}
	op.Parameters = append(op.Parameters, outputDocs()...)
	api.OpenAPI().AddOperation(op)
	g.Get("/api/v1/coverage", func(w http.ResponseWriter, r *http.Request) {
		o, ok := requestOutput(w, r, known)
		if !ok {
			return
		}
		q := r.URL.Query()
		values := map[string]any{}
		for _, p := range params {
			if v := q.Get(p.name); v != "" {
				values[p.param] = v
			}
		}
		switch b := q.Get("bucket"); b {
		case "", "day", "week", "month", "auto":
		default:
			writeProblem(w, r, badParam("bucket", "bucket: %q: want day, week, month or auto", b))
			return
		}
		s.stream(w, r, o, fixedPlan(cq, values))
	})
	return nil
}

type runsIn struct {
	Job   string `query:"job" doc:"only runs of this job"`
	Limit int64  `query:"limit" default:"20" minimum:"1" maximum:"1000" doc:"how many runs"`
}

type runsOut struct{ Body []dbq.Run }

func (s *Server) listRuns(ctx context.Context, in *runsIn) (*runsOut, error) {
	var job *string
	if in.Job != "" {
		job = &in.Job
	}
	out := &runsOut{}
	err := s.retry(ctx, func(ctx context.Context) (err error) {
		out.Body, err = dbq.New(s.opts.Pool).Runs(ctx, dbq.RunsParams{Job: job, RowLimit: &in.Limit})
		return err
	})
	if err != nil {
		return nil, s.humaError(ctx, err)
	}
	return out, nil
}

type streamsOut struct{ Body []dbq.LiveStreamsRow }

func (s *Server) listStreams(ctx context.Context, _ *struct{}) (*streamsOut, error) {
	out := &streamsOut{}
	err := s.retry(ctx, func(ctx context.Context) (err error) {
		out.Body, err = status.Streams(ctx, s.opts.Pool)
		return err
	})
	if err != nil {
		return nil, s.humaError(ctx, err)
	}
	return out, nil
}

type runIn struct {
	ID int64 `path:"id" minimum:"1" doc:"the run id"`
}

type runOut struct {
	Body struct {
		Run dbq.Run `json:"run"`
		// Progress and Queued are a queued run's unit states.
		Progress *queue.Progress   `json:"progress,omitempty"`
		Queued   []queue.UnitState `json:"queued_units,omitempty"`
		// Units is the ledger: the units this run loaded or failed.
		Units []dbq.Unit `json:"units"`
	}
}

func (s *Server) getRun(ctx context.Context, in *runIn) (*runOut, error) {
	q := dbq.New(s.opts.Pool)
	out := &runOut{}
	err := s.retry(ctx, func(ctx context.Context) (err error) {
		if out.Body.Run, err = q.GetRun(ctx, in.ID); err != nil {
			return err
		}
		if out.Body.Units, err = q.Units(ctx, in.ID); err != nil {
			return err
		}
		if out.Body.Run.Queue != nil {
			if out.Body.Progress, err = queue.RunProgress(ctx, s.opts.Pool, in.ID); err != nil {
				return err
			}
			out.Body.Queued, err = queue.Units(ctx, s.opts.Pool, in.ID)
		}
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = &problem{status: http.StatusNotFound, detail: fmt.Sprintf("no run %d", in.ID)}
	}
	if err != nil {
		return nil, s.humaError(ctx, err)
	}
	return out, nil
}

type jobsOut struct{ Body []jobspec.Summary }

func (s *Server) listJobs(ctx context.Context, _ *struct{}) (*jobsOut, error) {
	out := &jobsOut{Body: []jobspec.Summary{}}
	if s.opts.Jobs == nil {
		return out, nil
	}
	ents, err := s.opts.Jobs()
	if err != nil {
		return nil, s.humaError(ctx, err)
	}
	now := time.Now()
	for _, e := range ents {
		out.Body = append(out.Body, e.Summary(now))
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
