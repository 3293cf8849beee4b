package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/output"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
	sqlfiles "github.com/hdi-dev/hdi/sql"
)

func init() { addCommand(newQueryCmd) }

// outputFlags are the flags every query command shares.
type outputFlags struct {
	format string
	output string
	tz     string
	raw    bool
}

func (o *outputFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "table", "output format: table, csv, tsv, json, ndjson, parquet")
	f.StringVarP(&o.output, "output", "o", "", "write to this file (atomically) instead of stdout")
	f.StringVar(&o.tz, "tz", "UTC", "show times in this IANA zone, e.g. America/Chicago")
	f.BoolVar(&o.raw, "raw", false, "write prices and ns times as the stored integers")
}

func (o *outputFlags) options() (output.Options, error) {
	f, err := output.ParseFormat(o.format)
	if err != nil {
		return output.Options{}, usageErrorf("--format: %v", err)
	}
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return output.Options{}, usageErrorf("--tz %s: not an IANA time zone (e.g. UTC, America/New_York)", o.tz)
	}
	return output.Options{Format: f, Location: loc, Raw: o.raw}, nil
}

// run connects, runs q with values and writes the result where asked.
// sq, when set, completes the query on the connection first (symbol
// queries: the dataset, the symbols' check, back-adjustment). A result
// without rows gets a note on stderr saying so (for sq, with the days on
// which its symbols have rows).
func (o *outputFlags) run(ctx context.Context, app *App, q *query.Query, values map[string]any, sq *query.SymbolQuery) error {
	opts, err := o.options()
	if err != nil {
		return err
	}
	conn, err := app.queryConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if sq != nil {
		if q, err = sq.Resolved(ctx, conn); err != nil {
			return dbconn.WithAdvice(symbolQueryError(err))
		}
	}
	var w io.Writer = app.Stdout
	var file *output.AtomicFile
	if o.output != "" {
		if file, err = output.CreateAtomic(o.output); err != nil {
			return err
		}
		defer file.Abort()
		w = file
	}
	n, err := query.Run(ctx, conn, q, values, w, opts)
	if err != nil {
		return dbconn.WithAdvice(err)
	}
	if file != nil {
		if err := file.Commit(); err != nil {
			return err
		}
		app.Logger.Info("query written", "query", q.Name, "rows", n, "file", o.output)
	}
	if n == 0 {
		note := "no rows"
		if sq != nil {
			note = sq.NoRows(ctx, conn)
		}
		fmt.Fprintln(app.Stderr, "hdi: "+note)
	}
	return nil
}

// queryConn opens one connection (no pool: a query command runs one
// statement stream).
func (a *App) queryConn(ctx context.Context) (*pgx.Conn, error) {
	url, err := a.databaseURL(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := dbconn.PoolConfig(url)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, dbconn.Explain(cfg.ConnConfig, err)
	}
	if err := migrate.CheckSchema(ctx, conn); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	// Queries read: a statement that writes fails, whatever the file says.
	if _, err := conn.Exec(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("make the query session read-only: %w", err)
	}
	return conn, nil
}

func (a *App) queryCatalog() (*query.Catalog, error) {
	c, err := query.Load(sqlfiles.Queries, a.Config.QueriesDir)
	if err != nil {
		return nil, fmt.Errorf("load queries: %w", err)
	}
	return c, nil
}

func newQueryCmd(app *App) *cobra.Command {
	var (
		of     outputFlags
		params []string
		pick   string
		sf     symbolFlags
	)
	cmd := &cobra.Command{
		Use:   "query NAME|FILE.sql [-s SYMBOLS --start DATE --end DATE] [--param key=value ...]",
		Short: "Run a query file by name, or a convenience query (bars, trades, ...)",
		Long: `Run any query of sql/queries (built in) or of the queries directory
(--queries-dir, HDI_QUERIES_DIR; a file there overrides a built-in query of the
same name) by its sqlc name, or a .sql file by path (--name picks one of its
queries). Parameters (@name, sqlc.arg(name), sqlc.narg(name)) are bound, never
spliced into the SQL; each is typed by PostgreSQL or by a "-- @param name type"
comment. Lists (text[], bigint[]) are comma-separated; times are YYYY-MM-DD,
RFC 3339 or relative (today, yesterday, -7d, -2w, -6mo, -1y, now, -12h), and a
date-only value of a timestamptz parameter named end/end_ts means the end of
that day (the day is included). sqlc.narg parameters may be omitted (NULL).
The parameters symbols, dataset, start_ts and end_ts of a query may also be
given as hdi query bars takes them: -s/--symbols, --dataset, --start, --end.

Only data goes to stdout; messages go to stderr. See docs/queries.md.`,
		Example: `  hdi query list
  hdi query SymbolBars1d --param dataset=GLBX.MDP3 --param symbols=ES.c.0 \
      --param start_ts=2024-01-01 --param end_ts=2024-01-31 --format csv
  hdi query Coverage --format json
  hdi query RealizedVol -s ES.c.0 --start 2024-03-11 --end 2024-03-22 --param n=5
  hdi query ./queries/active_contracts.sql --param dataset=GLBX.MDP3 --param day=2024-03-15
  hdi query bars -s ES.c.0,NQ.c.0 --interval 1d --start 2024-01-01 --end 2024-01-31`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("query takes one query name or file, got %q (parameters go in --param key=value)", strings.Join(args, " "))
			}
			cat, err := app.queryCatalog()
			if err != nil {
				return err
			}
			q, err := cat.Lookup(args[0], pick)
			if err != nil {
				return usageError{err}
			}
			values := map[string]any{}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return usageErrorf("--param %q: want key=value", p)
				}
				values[k] = v
			}
			if err := sf.set(cmd, q, values); err != nil {
				return err
			}
			err = of.run(cmd.Context(), app, q, values, nil)
			if be := (*query.BindError)(nil); errors.As(err, &be) {
				return usageError{err} // a missing, unknown or malformed parameter
			}
			return err
		},
	}
	of.add(cmd)
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "a query parameter, key=value (repeatable)")
	cmd.Flags().StringVar(&pick, "name", "", "with a .sql file of several queries: the one to run")
	sf.add(cmd)
	cmd.AddCommand(newQueryListCmd(app))
	for _, k := range []string{"bars", "trades", "tbbo", "statistics", "definitions"} {
		cmd.AddCommand(newSymbolQueryCmd(app, k))
	}
	return cmd
}

// symbolFlags are hdi query bars' symbol and range flags on hdi query NAME:
// they set the query's symbols, dataset, start_ts and end_ts parameters.
type symbolFlags struct {
	symbols             []string
	dataset, start, end string
}

func (s *symbolFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&s.symbols, "symbols", "s", nil, "the query's symbols parameter: ESH4, ES.c.0, 5482 (comma-separated)")
	f.StringVar(&s.dataset, "dataset", "", "the query's dataset parameter, e.g. GLBX.MDP3")
	f.StringVar(&s.start, "start", "", "the query's start_ts: first day (YYYY-MM-DD) or instant (RFC 3339), included")
	f.StringVar(&s.end, "end", "", "the query's end_ts: last day (YYYY-MM-DD, included) or instant (RFC 3339, excluded)")
}

// set puts the flags given into values, for the parameters q has; a flag
// and a --param of the same parameter, or a flag q has no parameter for,
// is a usage error. --start and --end are parsed together as hdi query
// bars parses them.
func (s *symbolFlags) set(cmd *cobra.Command, q *query.Query, values map[string]any) error {
	changed := func(flag string) bool { return cmd.Flags().Changed(flag) }
	if changed("start") != changed("end") {
		return usageErrorf("--start and --end go together (or give one as --param start_ts=... / end_ts=...)")
	}
	set := map[string]any{}
	if changed("symbols") {
		set["symbols"] = strings.Join(s.symbols, ",")
	}
	if changed("dataset") {
		set["dataset"] = s.dataset
	}
	if changed("start") {
		rng, _, err := timerange.Parse(s.start, s.end, timerange.Options{StartField: "--start", EndField: "--end", Now: query.Now})
		if err != nil {
			return usageError{err}
		}
		set["start_ts"], set["end_ts"] = rng.Start, rng.End
	}
	flag := map[string]string{"symbols": "--symbols (-s)", "dataset": "--dataset", "start_ts": "--start", "end_ts": "--end"}
	for _, name := range []string{"symbols", "dataset", "start_ts", "end_ts"} {
		v, ok := set[name]
		if !ok {
			continue
		}
		if !slices.ContainsFunc(q.Params, func(p query.Param) bool { return p.Name == name }) {
			return usageErrorf("%s: query %s has no %s parameter (see hdi query list)", flag[name], q.Name, name)
		}
		if _, dup := values[name]; dup {
			return usageErrorf("%s and --param %s both set %s: give one", flag[name], name, name)
		}
		values[name] = v
	}
	return nil
}

func newQueryListCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the queries with their parameters and descriptions",
		Long: `List every read query (built in and of the queries directory) with its
parameters (? marks one that may be omitted) and the first sentence of its
description, after [chart overlay] or [chart pane] when the query has that
-- @chart annotation (hdi serve's chart draws it). Parameter types come from
PostgreSQL when a database is reachable (configured, or hdi's local cluster
running); --format json gives them in full.`,
		Example: "  hdi query list\n  hdi query list --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: want table or json", format)
			}
			cat, err := app.queryCatalog()
			if err != nil {
				return err
			}
			qs := cat.Queries()
			if err := app.typeParams(cmd.Context(), qs); err != nil {
				app.Logger.Info("parameter types are shown where the query files declare them: no database reachable", "why", err)
			}
			if format == "json" {
				return writeJSON(app, qs)
			}
			return writeQueryTable(app.Stdout, qs)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// typeParams fills the parameter types of the queries from PostgreSQL,
// without creating or starting a database.
func (a *App) typeParams(ctx context.Context, qs []*query.Query) error {
	url, _, err := a.statusDatabaseURL(ctx)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range qs {
		p, err := query.Prepare(ctx, conn, q)
		if err != nil {
			return err
		}
		q.Params = p.Params
	}
	return nil
}

// queryTableWidth is the widest line `query list` prints.
const queryTableWidth = 120

// writeQueryTable lists queries in three columns, each line at most
// queryTableWidth wide: descriptions are cut to their first sentence and
// to the room left.
func writeQueryTable(w io.Writer, qs []*query.Query) error {
	type row struct{ name, params, desc string }
	rows := make([]row, len(qs))
	nameW, paramW := len("NAME"), len("PARAMETERS")
	for i, q := range qs {
		var ps []string
		for _, p := range q.Params {
			s := p.Name
			if p.Optional {
				s += "?"
			}
			ps = append(ps, s)
		}
		desc, _, _ := strings.Cut(q.Description, ". ")
		desc = strings.TrimSuffix(desc, ".")
		if q.Chart != "" {
			desc = "[chart " + q.Chart + "] " + desc
		}
		rows[i] = row{q.Name, strings.Join(ps, ", "), desc}
		nameW, paramW = max(nameW, len(q.Name)), max(paramW, len(rows[i].params))
	}
	paramW = min(paramW, 54)
	descW := max(queryTableWidth-nameW-paramW-4, 20)
	cut := func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n-1]) + "…"
		}
		return s
	}
	fmt.Fprintf(w, "%-*s  %-*s  %s\n", nameW, "NAME", paramW, "PARAMETERS", "DESCRIPTION")
	for _, r := range rows {
		line := fmt.Sprintf("%-*s  %-*s  %s", nameW, r.name, paramW, cut(r.params, paramW), cut(r.desc, descW))
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}

// symbolQueryError turns a symbol query's parameter error into what the
// CLI says: the flag's name, and flags where the message points at a
// parameter; a usage error unless a value names nothing.
func symbolQueryError(err error) error {
	var pe *query.ParamError
	if !errors.As(err, &pe) {
		return err
	}
	flag := "--" + pe.Param
	if pe.Param == "symbols" {
		flag = "--symbols (-s)"
	}
	msg := pe.Text(func(r query.Ref) string { return strings.TrimSpace("--" + r.Param + " " + r.Value) })
	if pe.NotFound {
		return fmt.Errorf("%s: %s", flag, msg)
	}
	return usageErrorf("%s: %s", flag, msg)
}

// newSymbolQueryCmd builds `hdi query bars|trades|tbbo|statistics|definitions`.
func newSymbolQueryCmd(app *App, kind string) *cobra.Command {
	var (
		of                          outputFlags
		symbols                     []string
		start, end, dataset, interv string
		stat, adjust                string
		daily                       bool
		limit                       int64
	)
	short := map[string]string{
		"bars":        "Bars of symbols over a date range, per-day symbol resolution across rolls",
		"trades":      "Trades of symbols over a date range",
		"tbbo":        "Trades with the BBO before each (tbbo) of symbols over a date range",
		"statistics":  "Statistics (settlement, open interest, volume, ...) of symbols over a date range",
		"definitions": "Instrument definitions of symbols received over a date range",
	}[kind]
	example := map[string]string{
		"bars":        "  hdi query bars -s ES.c.0,NQ.c.0 --interval 1d --start 2024-01-01 --end 2024-01-31\n  hdi query bars -s ESH4 --interval 1m --start 2024-03-01 --end 2024-03-01 --format parquet -o es.parquet\n  hdi query bars -s ES.c.0 --interval 4h --start 2024-03-11 --end 2024-03-15",
		"trades":      "  hdi query trades -s ESH4 --start 2024-03-01 --end 2024-03-01 --limit 100",
		"tbbo":        "  hdi query tbbo -s ES.c.0 --start 2024-03-01 --end 2024-03-01 --format csv",
		"statistics":  "  hdi query statistics -s ES.c.0 --stat settlement --start 2024-03-01 --end 2024-03-31\n  hdi query statistics -s ESH4,ESM4 --daily --start 2024-03-01 --end 2024-03-31",
		"definitions": "  hdi query definitions -s ESH4,ESM4 --start 2024-03-01 --end 2024-03-31",
	}[kind]
	cmd := &cobra.Command{
		Use:   kind + " -s SYMBOLS --start DATE --end DATE",
		Short: short,
		Long: short + `.

Symbols may be raw (ESH4), parent (ES.FUT), continuous (ES.c.0, .v., .n.) or
instrument ids; each resolves per UTC day through the symbol mappings, and
every row carries the symbol asked for, the instrument id and the contract's
raw symbol. --start and --end are dates (both included), RFC 3339 instants
([start, end)) or relative (-7d, yesterday, today). Without --dataset, the
dataset in which the symbols name something (several: an error lists them).
A result without rows gets a note on stderr: on which days the symbols have
rows.`,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := query.SymbolRequest{Kind: kind, Symbols: symbols, Start: start, End: end, Dataset: dataset,
				Interval: interv, Adjust: adjust, Stat: stat, Daily: daily, Limit: limit}
			cat, err := app.queryCatalog()
			if err != nil {
				return err
			}
			sq, err := req.Plan(cat)
			if err != nil {
				return symbolQueryError(err)
			}
			return of.run(cmd.Context(), app, sq.Query, sq.Values, sq)
		},
	}
	of.add(cmd)
	f := cmd.Flags()
	f.StringSliceVarP(&symbols, "symbols", "s", nil, "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482")
	f.StringVar(&start, "start", "", "first day (YYYY-MM-DD) or instant (RFC 3339), included")
	f.StringVar(&end, "end", "", "last day (YYYY-MM-DD, included) or instant (RFC 3339, excluded)")
	f.StringVar(&dataset, "dataset", "", "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)")
	f.Int64Var(&limit, "limit", 0, "at most this many rows (0: all)")
	switch kind {
	case "bars":
		f.StringVar(&interv, "interval", "1d", "1s, 1m, 5m, 15m, 1h, 1d, eod (also 1h-rollup, trades-1m), or any N of s, m, h, d, w (3m, 4h, 2d, 1w): "+
			"resampled from the finest stored bars whose width divides it (else trades), buckets counted from Monday 1970-01-05 00:00 UTC")
		f.StringVar(&adjust, "adjust", "none", "continuous symbols: none, ratio or difference (back-adjusted at each roll; docs/queries.md)")
	case "statistics":
		f.StringVar(&stat, "stat", "all", "settlement (3), open_interest (9), volume (6 cleared volume) or all")
		f.BoolVar(&daily, "daily", false, "one row per symbol, instrument and day: settlement, open interest, cleared volume")
	}
	return cmd
}
