package query

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
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

// BarInterval returns the query name for one of BarIntervals. Any other
// whole number of seconds, minutes, hours, days or weeks (3m, 30m, 4h, 2d,
// 1w; case-insensitive, as the others) is resampled: the query is SymbolTradeBarsFrom until Resolve picks a
// finer source (barSources), and seconds is the bar's width. Else the error
// lists the intervals.
func BarInterval(interval string) (name string, seconds int64, err error) {
	if q, ok := BarIntervals[strings.ToLower(interval)]; ok {
		return q, 0, nil
	}
	if m := resampledInterval.FindStringSubmatch(strings.ToLower(interval)); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil && n > 0 {
			return "SymbolTradeBarsFrom", n * intervalUnits[m[2]], nil
		}
	}
	return "", 0, fmt.Errorf("unknown interval %q (want 1s, 1m, 5m, 15m, 1h, 1d, eod, 1h-rollup, trades-1m, or any whole number of s, m, h, d, w: 3m, 30m, 4h, 2d, 1w)", interval)
}

// resampledInterval is a resampled --interval: N and its unit. N is at most
// nine digits, so N weeks in seconds fits an int64 with room to spare.
var resampledInterval = regexp.MustCompile(`^0*([1-9][0-9]{0,8})([smhdw])$`)

// intervalUnits are the seconds of each unit of a resampled interval.
var intervalUnits = map[string]int64{"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

// barSources are the bar tables a resampled interval is rolled up from,
// finest first: the first whose width divides the interval and that holds
// rows of the symbols in the range is taken, else trades.
var barSources = []struct {
	table, query string
	seconds      int64
	has          func(dbq.SymbolBarSourcesRow) bool
}{
	{"ohlcv_1s", "SymbolBarsFrom1s", 1, func(r dbq.SymbolBarSourcesRow) bool { return r.Ohlcv1s }},
	{"ohlcv_1m", "SymbolBarsFrom1m", 60, func(r dbq.SymbolBarSourcesRow) bool { return r.Ohlcv1m }},
	{"ohlcv_1h", "SymbolBarsFrom1h", 3600, func(r dbq.SymbolBarSourcesRow) bool { return r.Ohlcv1h }},
	{"ohlcv_1d", "SymbolBarsFrom1d", 86400, func(r dbq.SymbolBarSourcesRow) bool { return r.Ohlcv1d }},
}

// symbolTables names the table each built-in symbol query reads.
var symbolTables = map[string]string{
	"SymbolBars1s": "ohlcv_1s", "SymbolBars1m": "ohlcv_1m", "SymbolBars5m": "ohlcv_1m", "SymbolBars15m": "ohlcv_1m",
	"SymbolBarsRollup1h": "ohlcv_1m", "SymbolBars1h": "ohlcv_1h", "SymbolBars1d": "ohlcv_1d", "SymbolBarsEod": "ohlcv_eod",
	"SymbolTradeBars1m": "trades", "SymbolTradeBarsFrom": "trades", "SymbolTrades": "trades", "SymbolTbbo": "tbbo",
	"SymbolStatistics": "statistics", "DailyStatistics": "statistics", "SymbolDefinitions": "definition",
}

// StatTypes maps the --stat values of `hdi query statistics` to Databento
// stat_type codes (table stat_types); "all" is nil (no filter).
var StatTypes = map[string][]int64{
	"settlement":    {3},
	"open_interest": {9},
	"volume":        {6},
	"all":           nil,
}

// PickDataset returns the dataset of a symbol request. Asked for (not ""),
// it is that one, and every symbol must name something in it. Else it is the
// one dataset in which every symbol names something (SymbolDatasets); a
// number that names nothing anywhere fits any dataset, as an instrument id.
// Symbols that fit several datasets, or none together, or that name nothing,
// are a ParamError that lists where each symbol is.
func PickDataset(ctx context.Context, db dbq.DBTX, asked string, symbols []string) (string, error) {
	all, rows, err := symbolDatasets(ctx, dbq.New(db), asked, symbols)
	if err != nil {
		return "", err
	}
	dataset, unknown, err := chooseDataset(asked, symbols, all, rows)
	if len(unknown) > 0 {
		err = unknownSymbols(ctx, dbq.New(db), asked, unknown)
	}
	return dataset, err
}

// symbolDatasets reads the candidates (the one asked for, else every
// dataset) and where each symbol names something among them.
func symbolDatasets(ctx context.Context, q *dbq.Queries, asked string, symbols []string) ([]string, []dbq.SymbolDatasetsRow, error) {
	all := []string{asked} // the candidates
	if asked == "" {
		var err error
		if all, err = q.Datasets(ctx); err != nil {
			return nil, nil, fmt.Errorf("list the datasets: %w", err)
		}
	}
	rows, err := q.SymbolDatasets(ctx, dbq.SymbolDatasetsParams{Symbols: symbols, Datasets: all})
	if err != nil {
		return nil, nil, fmt.Errorf("find the symbols' datasets: %w", err)
	}
	return all, rows, nil
}

// chooseDataset is PickDataset's decision on what the database said: the
// dataset, or the symbols that name nothing (for unknownSymbols), or an
// error.
func chooseDataset(asked string, symbols, all []string, rows []dbq.SymbolDatasetsRow) (string, []string, error) {
	held := map[string][]string{} // symbol -> the candidates it names something in
	for _, r := range rows {
		held[r.Symbol] = append(held[r.Symbol], r.Dataset)
	}
	syms := uniq(symbols)
	var unknown []string
	for _, s := range syms {
		if len(held[s]) == 0 && !instrumentID(s) {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		return "", unknown, nil
	}
	if asked != "" {
		return asked, nil, nil
	}
	fit := all         // the datasets every symbol fits
	var named []string // the symbols that name something somewhere
	for _, s := range syms {
		if ds := held[s]; len(ds) > 0 {
			fit = slices.DeleteFunc(slices.Clone(fit), func(d string) bool { return !slices.Contains(ds, d) })
			named = append(named, s)
		}
	}
	switch {
	case len(fit) == 1:
		return fit[0], nil, nil
	case len(all) == 0:
		return "", nil, notFound("dataset", "no symbol mappings or definitions are loaded: ingest data first, or name the dataset with %s to ask for instrument ids", Ref{Param: "dataset"})
	case len(named) == 0:
		return "", nil, paramErr("dataset", "%s names no instrument in the mappings or definitions of any dataset, and the database holds several (%s): pick one with %s",
			strings.Join(symbols, ", "), strings.Join(all, ", "), Ref{Param: "dataset"})
	case len(fit) == 0:
		var where []string
		for _, s := range named {
			where = append(where, s+" in "+strings.Join(held[s], " and "))
		}
		return "", nil, paramErr("symbols", "no dataset holds them all (%s): ask for the symbols of one dataset at a time", strings.Join(where, "; "))
	}
	return "", nil, paramErr("dataset", "%s names something in several datasets (%s): pick one with %s", strings.Join(named, ", "), strings.Join(fit, ", "), Ref{Param: "dataset"})
}

// instrumentID reports a symbol that can only be an instrument id.
func instrumentID(s string) bool { return idRe.MatchString(s) }

var idRe = regexp.MustCompile(`^[0-9]{1,18}$`)

func uniq(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// unknownSymbols is the error for symbols that name nothing (in asked, when
// given): for each, the datasets that do hold it, or close matches (prefix
// or edit distance) with the datasets of each, then what the datasets hold.
func unknownSymbols(ctx context.Context, q *dbq.Queries, asked string, unknown []string) error {
	rows, err := q.DatasetSymbols(ctx, nil)
	if err != nil {
		return fmt.Errorf("list the symbols: %w", err)
	}
	in := map[string][]string{} // symbol -> datasets
	byDataset := map[string][]string{}
	var names, datasets []string
	for _, r := range rows {
		if len(in[r.Symbol]) == 0 {
			names = append(names, r.Symbol)
		}
		in[r.Symbol] = append(in[r.Symbol], r.Dataset)
		if len(byDataset[r.Dataset]) == 0 {
			datasets = append(datasets, r.Dataset)
		}
		byDataset[r.Dataset] = append(byDataset[r.Dataset], r.Symbol)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("symbol")
	if len(unknown) > 1 {
		b.WriteString("s")
	}
	if asked != "" {
		fmt.Fprintf(&b, " in dataset %s:", asked)
	}
	for i, u := range unknown {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s", u)
		if ds := in[u]; len(ds) > 0 { // in another dataset than asked
			fmt.Fprintf(&b, " (it is in %s)", strings.Join(ds, " and "))
			continue
		}
		if s := Suggest(u, names, 5); len(s) > 0 {
			// Grouped by where they are: ESH1, ESH4 in GLBX.MDP3 or ESX in XNAS.ITCH.
			var where []string
			group := map[string][]string{}
			for _, x := range s {
				w := strings.Join(in[x], " and ")
				if len(group[w]) == 0 {
					where = append(where, w)
				}
				group[w] = append(group[w], x)
			}
			for i, w := range where {
				where[i] = strings.Join(group[w], ", ") + " in " + w
			}
			fmt.Fprintf(&b, " (did you mean %s?)", strings.Join(where, " or "))
		}
	}
	if asked != "" {
		datasets = []string{asked}
	}
	for _, d := range datasets {
		all := byDataset[d]
		switch {
		case len(all) == 0:
			fmt.Fprintf(&b, "; %s holds no symbols", d)
			continue
		case len(all) > 20:
			all = append(all[:20:20], "…")
		}
		fmt.Fprintf(&b, "; %s holds %d symbols: %s", d, len(byDataset[d]), strings.Join(all, ", "))
	}
	if len(datasets) == 0 {
		b.WriteString("; no symbol mappings or definitions are loaded")
	}
	return notFound("symbols", "unknown %s", b.String())
}
