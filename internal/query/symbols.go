package query

import (
	"context"
	"fmt"
	"strings"

	"github.com/hdi-dev/hdi/internal/dbq"
)

// BarIntervals maps the --interval values of `hdi query bars` to the
// built-in query that serves them.
var BarIntervals = map[string]string{
	"1s":        "SymbolBars1s",
	"1m":        "SymbolBars1m",
	"5m":        "SymbolBars5m",
	"15m":       "SymbolBars15m",
	"1h":        "SymbolBars1h",
	"1h-rollup": "SymbolBarsRollup1h",
	"1d":        "SymbolBars1d",
	"eod":       "SymbolBarsEod",
	"trades-1m": "SymbolTradeBars1m",
}

// BarInterval returns the query name for an interval, or an error listing
// the intervals.
func BarInterval(interval string) (string, error) {
	if q, ok := BarIntervals[strings.ToLower(interval)]; ok {
		return q, nil
	}
	return "", fmt.Errorf("unknown interval %q (want 1s, 1m, 5m, 15m, 1h, 1d, eod; also 1h-rollup, trades-1m)", interval)
}

// StatTypes maps the --stat values of `hdi query statistics` to Databento
// stat_type codes (table stat_types); "all" is nil (no filter).
var StatTypes = map[string][]int64{
	"settlement":    {3},
	"open_interest": {9},
	"volume":        {6},
	"all":           nil,
}

// DefaultDataset returns the dataset when the database holds symbol
// mappings of exactly one; otherwise a ParamError asking for --dataset. A
// failure of the database is returned as it is, never as a ParamError.
func DefaultDataset(ctx context.Context, db dbq.DBTX) (string, error) {
	ds, err := dbq.New(db).Datasets(ctx)
	if err != nil {
		return "", fmt.Errorf("list datasets: %w", err)
	}
	switch len(ds) {
	case 1:
		return ds[0], nil
	case 0:
		return "", paramErr("dataset", "no symbol mappings loaded: pass --dataset (e.g. GLBX.MDP3) and instrument ids, or ingest data first")
	}
	return "", paramErr("dataset", "the database holds several datasets (%s): pick one with --dataset", strings.Join(ds, ", "))
}

// CheckSymbols fails with a NotFound ParamError when a symbol names nothing
// in the dataset (no mapping, no definition, not an instrument id), listing
// close matches (prefix or edit distance) and some of the symbols the
// dataset holds. A failure of the database is returned as it is.
func CheckSymbols(ctx context.Context, db dbq.DBTX, dataset string, symbols []string) error {
	q := dbq.New(db)
	unknown, err := q.UnknownSymbols(ctx, dbq.UnknownSymbolsParams{Symbols: symbols, Dataset: dataset})
	if err != nil {
		return fmt.Errorf("check symbols: %w", err)
	}
	if len(unknown) == 0 {
		return nil
	}
	all, err := q.DatasetSymbols(ctx, dataset)
	if err != nil {
		return fmt.Errorf("list symbols: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "unknown symbol")
	if len(unknown) > 1 {
		b.WriteString("s")
	}
	for i, u := range unknown {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s", u)
		if s := Suggest(u, all, 5); len(s) > 0 {
			fmt.Fprintf(&b, " (did you mean %s?)", strings.Join(s, ", "))
		}
	}
	fmt.Fprintf(&b, " in dataset %s", dataset)
	if len(all) == 0 {
		b.WriteString(", which has no symbols loaded")
	} else {
		shown := all
		if len(shown) > 20 {
			shown = shown[:20]
		}
		fmt.Fprintf(&b, "; it holds %d symbols: %s", len(all), strings.Join(shown, ", "))
		if len(all) > len(shown) {
			b.WriteString(", …")
		}
	}
	return &ParamError{Param: "symbols", Msg: b.String(), NotFound: true}
}
