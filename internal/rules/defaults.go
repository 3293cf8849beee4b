package rules

import (
	"strings"

	"github.com/hdi-dev/hdi/internal/jobspec"
)

func f64(v float64) *float64 { return &v }

// Defaults returns the built-in rules for a Databento schema (trades, tbbo,
// mbp-1, mbp-10, mbo, bbo-1s, cbbo-1m, tcbbo, ohlcv-1m, definition,
// statistics, status, imbalance...). Pass them as Options.Defaults: a
// default naming a field the stream lacks is skipped. Unknown schemas get
// none.
//
//   - every schema: its time source (ts_recv, or ts_event for bars) not
//     null (error: the time column is NOT NULL);
//   - trades, tbbo, tcbbo: price not null (error); mbp/bbo/cbbo/cmbp/mbo:
//     price not null only as warn (book updates may carry no price);
//   - all tick schemas: price >= 0 as warn (spreads can trade negative),
//     size non_negative, side one_of [A, B, N] (error), ts_recv
//     non-decreasing per instrument_id (warn);
//   - ohlcv-*: ohlc_consistent (error), volume non_negative;
//   - definition, statistics, status, imbalance: only the time rule.
func Defaults(schema string) []jobspec.RuleSpec {
	warn, errSev := jobspec.SeverityWarn, jobspec.SeverityError
	s := strings.ToLower(schema)
	switch {
	case strings.HasPrefix(s, "ohlcv"):
		return []jobspec.RuleSpec{
			{Type: "not_null", Field: "ts_event", Severity: errSev},
			{Type: "ohlc_consistent", Severity: errSev},
			{Type: "non_negative", Field: "volume", Severity: errSev},
		}
	case s == "definition" || s == "statistics" || s == "status" || s == "imbalance":
		return []jobspec.RuleSpec{{Type: "not_null", Field: "ts_recv", Severity: errSev}}
	case s == "trades" || s == "tbbo" || s == "tcbbo" || s == "mbo" ||
		strings.HasPrefix(s, "mbp") || strings.HasPrefix(s, "bbo") ||
		strings.HasPrefix(s, "cbbo") || strings.HasPrefix(s, "cmbp"):
		priceSev := warn
		if s == "trades" || s == "tbbo" || s == "tcbbo" {
			priceSev = errSev
		}
		return []jobspec.RuleSpec{
			{Type: "not_null", Field: "ts_recv", Severity: errSev},
			{Type: "not_null", Field: "price", Severity: priceSev},
			{Type: "min", Field: "price", Min: f64(0), Severity: warn},
			{Type: "non_negative", Field: "size", Severity: errSev},
			{Type: "one_of", Field: "side", Values: []string{"A", "B", "N"}, Severity: errSev},
			{Type: "monotonic", Field: "ts_recv", Severity: warn},
		}
	}
	return nil
}
