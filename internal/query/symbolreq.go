package query

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// SymbolKinds are the symbol queries `hdi query KIND` and `GET /api/v1/KIND`
// serve.
var SymbolKinds = []string{"bars", "trades", "tbbo", "statistics", "definitions"}

// Back-adjustment methods of continuous bars (see docs/queries.md).
const (
	AdjustNone       = "none"
	AdjustRatio      = "ratio"
	AdjustDifference = "difference"
)

// SymbolRequest is one symbol query as a person asks it, the same whether
// from flags (hdi query bars) or from an HTTP query string (hdi serve).
type SymbolRequest struct {
	Kind       string
	Symbols    []string
	Start, End string
	Dataset    string
	Interval   string // bars
	Adjust     string // bars: none, ratio, difference
	Stat       string // statistics
	Daily      bool   // statistics
	Limit      int64
	Now        func() time.Time
}

// continuousRe matches Databento's continuous symbols: ES.c.0, CL.v.1, NQ.n.0.
var continuousRe = regexp.MustCompile(`\.[cnv]\.[0-9]+$`)

// SymbolQuery is a checked request: the catalog query to run and its values.
type SymbolQuery struct {
	Query  *Query
	Values map[string]any
	req    SymbolRequest
	table  string // the table the query reads (symbolTables)
	cat    *Catalog
}

// Plan checks the request and picks its query from the catalog. Nothing is
// asked of the database yet (see Resolve).
func (r SymbolRequest) Plan(cat *Catalog) (*SymbolQuery, error) {
	if len(r.Symbols) == 0 {
		return nil, paramErr("symbols", "is required, e.g. ES.c.0,NQ.c.0")
	}
	for _, s := range r.Symbols {
		if strings.TrimSpace(s) == "" {
			return nil, paramErr("symbols", "an empty symbol in %q", strings.Join(r.Symbols, ","))
		}
	}
	if r.Start == "" || r.End == "" {
		missing := "start"
		if r.Start != "" {
			missing = "end"
		}
		return nil, paramErr(missing, "is required: a date (an end date is included), an RFC 3339 time, or relative (-7d, today)")
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	rng, _, err := timerange.Parse(r.Start, r.End, timerange.Options{StartField: "start", EndField: "end", Now: now})
	if err != nil {
		var te *timerange.Error
		if errors.As(err, &te) {
			return nil, paramErr(te.Field, "%q %s", te.Value, te.Msg)
		}
		return nil, paramErr("start", "%v", err)
	}
	if r.Limit < 0 {
		return nil, paramErr("limit", "must be >= 0 (0: no limit), got %d", r.Limit)
	}
	values := map[string]any{"symbols": r.Symbols, "start_ts": rng.Start, "end_ts": rng.End}
	name := map[string]string{"trades": "SymbolTrades", "tbbo": "SymbolTbbo", "statistics": "SymbolStatistics", "definitions": "SymbolDefinitions"}[r.Kind]
	switch r.Kind {
	case "bars":
		var seconds int64
		if name, seconds, err = BarInterval(r.Interval); err != nil {
			return nil, paramErr("interval", "%v", err)
		}
		if seconds > 0 {
			values["bucket_seconds"] = seconds
		}
		switch r.Adjust {
		case "", AdjustNone:
		case AdjustRatio, AdjustDifference:
			for _, s := range r.Symbols {
				if !continuousRe.MatchString(s) {
					return nil, paramErr("adjust", "back-adjusts continuous symbols (ES.c.0, CL.v.1); %q is not one", s)
				}
			}
		default:
			return nil, paramErr("adjust", "%q: want none, ratio or difference", r.Adjust)
		}
	case "statistics":
		if r.Daily {
			name = "DailyStatistics"
			break
		}
		stat := r.Stat
		if stat == "" {
			stat = "all"
		}
		codes, ok := StatTypes[stat]
		if !ok {
			return nil, paramErr("stat", "%q: want settlement, open_interest, volume or all", stat)
		}
		if codes != nil {
			values["stat_types"] = codes
		}
	case "resolve":
		name = "ResolveSymbols"
	case "trades", "tbbo", "definitions":
	default:
		return nil, fmt.Errorf("unknown symbol query %q (want %s)", r.Kind, strings.Join(SymbolKinds, ", "))
	}
	if r.Limit > 0 {
		values["row_limit"] = r.Limit
	}
	q, err := cat.Lookup(name, "")
	if err != nil {
		return nil, err
	}
	return &SymbolQuery{Query: q, Values: values, req: r, table: symbolTables[name], cat: cat}, nil
}

// Resolve completes the query against the database: the dataset (the one
// asked for, else the one where the symbols name something), a check that
// every symbol names something there, and for back-adjusted bars the rolls
// and their prices.
func (sq *SymbolQuery) Resolve(ctx context.Context, conn *pgx.Conn) error {
	dataset, err := PickDataset(ctx, conn, sq.req.Dataset, sq.req.Symbols)
	if err != nil {
		return err
	}
	return sq.complete(ctx, conn, dataset)
}

// complete completes the query for its dataset: the source of resampled
// bars, and for back-adjusted bars the rolls and their prices.
func (sq *SymbolQuery) complete(ctx context.Context, conn *pgx.Conn, dataset string) error {
	sq.Values["dataset"] = dataset
	if secs, ok := sq.resampled(); ok {
		if err := sq.resampleFrom(ctx, conn, dataset, secs); err != nil {
			return err
		}
	}
	if sq.adjusted() {
		return sq.adjust(ctx, conn, dataset, sq.req.Adjust)
	}
	return nil
}

// resampled reports a resampled interval and its bucket's seconds.
func (sq *SymbolQuery) resampled() (int64, bool) {
	secs, ok := sq.Values["bucket_seconds"].(int64)
	return secs, ok
}

// adjusted reports back-adjusted bars.
func (sq *SymbolQuery) adjusted() bool {
	return sq.req.Adjust == AdjustRatio || sq.req.Adjust == AdjustDifference
}

// Resolved is Resolve, returning the query to run then (back-adjusted bars
// wrap the planned one).
func (sq *SymbolQuery) Resolved(ctx context.Context, conn *pgx.Conn) (*Query, error) {
	if err := sq.Resolve(ctx, conn); err != nil {
		return nil, err
	}
	return sq.Query, nil
}

// NoRows is the note for a resolved query that returned no rows: the symbols
// and days asked for and, as the loader counted them (coverage_daily), the
// days on which the query's table holds rows of each symbol. It is the first
// part alone when those cannot be read.
func (sq *SymbolQuery) NoRows(ctx context.Context, conn *pgx.Conn) string {
	start, end := sq.Values["start_ts"].(time.Time), sq.Values["end_ts"].(time.Time)
	note := fmt.Sprintf("no rows for %s in %s..%s", strings.Join(sq.req.Symbols, ", "),
		start.UTC().Format(time.DateOnly), end.Add(-time.Nanosecond).UTC().Format(time.DateOnly))
	dataset, _ := sq.Values["dataset"].(string)
	if sq.table == "" || dataset == "" {
		return note
	}
	cov, err := dbq.New(conn).SymbolCoverage(ctx, dbq.SymbolCoverageParams{Symbols: sq.req.Symbols, Dataset: dataset, TableName: sq.table})
	if err != nil {
		return note
	}
	if len(cov) == 0 {
		return fmt.Sprintf("%s; %s of %s has no rows of %s on any day", note, sq.table, dataset, strings.Join(sq.req.Symbols, ", "))
	}
	held := make([]string, len(cov))
	for i, c := range cov {
		held[i] = c.Symbol + " on " + c.FirstDay.Format(time.DateOnly) + ".." + c.LastDay.Format(time.DateOnly)
	}
	return fmt.Sprintf("%s; %s has rows of %s", note, sq.table, strings.Join(held, ", "))
}

// adjust checks that every roll in the range has its prices and wraps the
// bars query so that each bar's prices are back-adjusted to the last
// contract of the range (docs/queries.md, "Back-adjusted bars").
func (sq *SymbolQuery) adjust(ctx context.Context, conn *pgx.Conn, dataset, method string) error {
	rolls, err := dbq.New(conn).ContractRolls(ctx, dbq.ContractRollsParams{
		Dataset: dataset, Symbols: sq.req.Symbols, StartTs: sq.Values["start_ts"].(time.Time), EndTs: sq.Values["end_ts"].(time.Time),
	})
	if err != nil {
		return fmt.Errorf("read the rolls: %w", err)
	}
	for _, r := range rolls {
		if !r.Priced {
			return notFound("adjust", "%s rolls from %s to %s on %s, but ohlcv_1d has no daily bar of both around it: load daily bars of the contracts (e.g. schema ohlcv-1d for %s), or ask for %s",
				r.Symbol, r.OldRawSymbol, r.NewRawSymbol, r.RollDay.Format(time.DateOnly), parentOf(r.Symbol), Ref{"adjust", AdjustNone})
		}
		if method == AdjustRatio && r.OldClose <= 0 {
			return paramErr("adjust", "%s: %s closed at %s before the %s roll: a ratio needs positive prices (use %s)",
				r.Symbol, r.OldRawSymbol, FormatFixed(r.OldClose), r.RollDay.Format(time.DateOnly), Ref{"adjust", AdjustDifference})
		}
	}
	cols, err := resultColumns(ctx, conn, sq.Query)
	if err != nil {
		return err
	}
	wrapped, err := adjustedQuery(sq.Query, cols, method)
	if err != nil {
		return err
	}
	sq.Query = wrapped
	return nil
}

// resampleFrom picks the source of resampled bars: the finest bar table
// whose width divides the interval and that holds rows of the symbols in
// the range, else trades (the planned query).
func (sq *SymbolQuery) resampleFrom(ctx context.Context, conn *pgx.Conn, dataset string, seconds int64) error {
	has, err := dbq.New(conn).SymbolBarSources(ctx, dbq.SymbolBarSourcesParams{
		Dataset: dataset, Symbols: sq.req.Symbols, StartTs: sq.Values["start_ts"].(time.Time), EndTs: sq.Values["end_ts"].(time.Time),
	})
	if err != nil {
		return fmt.Errorf("find the bars to resample: %w", err)
	}
	for _, src := range barSources {
		if seconds%src.seconds != 0 || !src.has(has) {
			continue
		}
		q, err := sq.cat.Lookup(src.query, "")
		if err != nil {
			return err
		}
		sq.Query, sq.table = q, src.table
		return nil
	}
	return nil
}

// parentOf guesses the parent symbol of a continuous one: ES.c.0 -> ES.FUT.
func parentOf(s string) string {
	if i := strings.IndexByte(s, '.'); i > 0 {
		return s[:i] + ".FUT"
	}
	return s
}

// resultColumns names the columns q returns.
func resultColumns(ctx context.Context, conn *pgx.Conn, q *Query) ([]string, error) {
	p, err := Prepare(ctx, conn, q)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		out[i] = f.Name
	}
	return out, nil
}

// adjustedQuery wraps a bars query: every price column (open, high, low,
// close) of a bar is adjusted by the rolls after the bar's UTC day within
// the range, and a column says by how much (adjust_add in price units,
// adjust_ratio a factor). A roll never adjusts its new contract's bars: a
// resampled bucket that starts before the roll holds them in a row of
// their own, whose start is before the roll day.
func adjustedQuery(q *Query, cols []string, method string) (*Query, error) {
	// The statement, without the comments that follow it in its file and
	// without its semicolon.
	lines := strings.Split(strings.TrimSpace(q.SQL), "\n")
	for len(lines) > 0 {
		if l := strings.TrimSpace(lines[len(lines)-1]); l == "" || strings.HasPrefix(l, "--") {
			lines = lines[:len(lines)-1]
			continue
		}
		break
	}
	inner := strings.TrimRight(strings.TrimSpace(strings.Join(lines, "\n")), ";")
	var sel []string
	for _, c := range cols {
		id := pgx.Identifier{c}.Sanitize()
		switch {
		case c == "open" || c == "high" || c == "low" || c == "close":
			if method == AdjustRatio {
				sel = append(sel, fmt.Sprintf("round(b.%s * a.ratio)::bigint AS %s", id, id))
			} else {
				sel = append(sel, fmt.Sprintf("(b.%s + a.add)::bigint AS %s", id, id))
			}
		default:
			sel = append(sel, "b."+id)
		}
	}
	if method == AdjustRatio {
		sel = append(sel, "round(a.ratio, 12) AS adjust_ratio")
	} else {
		sel = append(sel, "round(a.add::numeric / 1000000000, 9) AS adjust_add")
	}
	src := "-- name: " + q.Name + "Adjusted :many\n" +
		"WITH b AS (\n" + inner + "\n),\n" +
		"r AS (SELECT x.symbol, x.roll_day, x.new_instrument_id, x.old_close, x.new_close\n" +
		"      FROM contract_rolls(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz)\n" +
		"           AS x(symbol, roll_day, old_instrument_id, old_raw_symbol, new_instrument_id, new_raw_symbol,\n" +
		"                old_close_day, old_close, new_close_day, new_close))\n" +
		"SELECT " + strings.Join(sel, ", ") + "\n" +
		"FROM b CROSS JOIN LATERAL (\n" +
		"    SELECT coalesce(sum(r.new_close - r.old_close), 0)::bigint AS add,\n" +
		"           coalesce(hdi_product(r.new_close::numeric / r.old_close), 1) AS ratio\n" +
		"    FROM r WHERE r.symbol = b.symbol AND r.roll_day > (to_timestamp(b.ts_event / 1e9) AT TIME ZONE 'UTC')::date\n" +
		"      AND r.new_instrument_id <> b.instrument_id) a\n" +
		"ORDER BY b.ts_event, b.symbol, b.instrument_id"
	qs, err := ParseFile(q.Source, []byte(src))
	if err != nil || len(qs) != 1 {
		return nil, fmt.Errorf("adjust %s: %v", q.Name, err)
	}
	return qs[0], nil
}
