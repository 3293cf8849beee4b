package dbprov

import (
	"strings"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Streams returns the provider's streams, one per schema, with what the
// host needs to load them: the Arrow schema, the fields that identify a
// record, what a record already stored does, the time field and the
// default rules.
func Streams() []sdk.Stream {
	var out []sdk.Stream
	for _, s := range dbn.Schemas() {
		name := s.String()
		st := sdk.Stream{
			Name: name, Description: "Databento " + name + " records", Schema: ArrowSchema(s),
			Key: keyFields(s), TimeField: TimeField(s), DefaultRules: defaultRules(s), Live: liveSchema(s),
		}
		switch s {
		case dbn.SchemaDefinition:
			st.Kind = sdk.KindDefinition
			st.Description = "Databento instrument definitions"
			st.OnConflict = sdk.ConflictReplace // a corrected definition wins
		case dbn.SchemaStatistics:
			st.OnConflict = sdk.ConflictReplace // a corrected statistic wins
		}
		out = append(out, st)
	}
	return out
}

// TimeField is each record's time: ts_recv (when hdi's clock-of-record
// received it), or ts_event for bars, which have no ts_recv.
func TimeField(s dbn.Schema) string {
	if strings.HasPrefix(s.String(), "ohlcv") {
		return "ts_event"
	}
	return "ts_recv"
}

// keyFields are the fields that identify a record of schema s. CME repeats
// sequence and ts_recv within a packet, so book and trade keys are wide.
func keyFields(s dbn.Schema) []string {
	name := s.String()
	switch {
	case s == dbn.SchemaMbo:
		return []string{"instrument_id", "ts_recv", "publisher_id", "channel_id", "sequence", "order_id", "action", "side", "price", "size", "ts_event", "flags"}
	case s == dbn.SchemaTrades || s == dbn.SchemaTbbo || strings.HasPrefix(name, "mbp"):
		return []string{"instrument_id", "ts_recv", "publisher_id", "sequence", "action", "side", "depth", "price", "size", "ts_event", "flags"}
	case s == dbn.SchemaCmbp1 || s == dbn.SchemaTcbbo:
		return []string{"instrument_id", "ts_recv", "publisher_id", "ts_event", "action", "side", "price", "size", "flags"}
	case strings.HasPrefix(name, "bbo") || strings.HasPrefix(name, "cbbo"):
		return []string{"instrument_id", "ts_recv", "publisher_id"}
	case strings.HasPrefix(name, "ohlcv"):
		return []string{"instrument_id", "ts_event", "publisher_id"}
	case s == dbn.SchemaStatistics:
		return []string{"instrument_id", "ts_recv", "publisher_id", "channel_id", "sequence", "stat_type", "update_action", "ts_event", "ts_ref", "price", "quantity", "stat_flags"}
	case s == dbn.SchemaStatus:
		return []string{"instrument_id", "ts_recv", "publisher_id", "ts_event", "action", "reason", "trading_event", "is_trading", "is_quoting", "is_short_sell_restricted"}
	case s == dbn.SchemaImbalance:
		return []string{"instrument_id", "ts_recv", "publisher_id", "ts_event", "auction_type", "auction_time", "side", "ref_price", "paired_qty", "total_imbalance_qty"}
	case s == dbn.SchemaDefinition:
		return []string{"instrument_id", "ts_recv", "publisher_id", "ts_event", "security_update_action", "leg_index"}
	}
	return nil
}

// defaultRules are the checks every record of schema s must pass:
//
//   - every schema: its time field not null (the host's time column is NOT
//     NULL);
//   - trades, tbbo, tcbbo: price not null; mbp/bbo/cbbo/cmbp/mbo: price not
//     null only as warn (book updates may carry no price);
//   - all tick schemas: price >= 0 as warn (spreads can trade negative),
//     size non_negative, side one of A, B, N, ts_recv non-decreasing (warn);
//   - ohlcv-*: ohlc_consistent, volume non_negative;
//   - definition, statistics, status, imbalance: only the time rule.
func defaultRules(s dbn.Schema) []sdk.Rule {
	const warn = "warn"
	name := s.String()
	rules := []sdk.Rule{{Type: "not_null", Fields: []string{TimeField(s)}}}
	switch {
	case strings.HasPrefix(name, "ohlcv"):
		rules = append(rules,
			sdk.Rule{Type: "ohlc_consistent"},
			sdk.Rule{Type: "non_negative", Fields: []string{"volume"}})
	case s == dbn.SchemaTrades || s == dbn.SchemaTbbo || s == dbn.SchemaTcbbo || s == dbn.SchemaMbo ||
		strings.HasPrefix(name, "mbp") || strings.HasPrefix(name, "bbo") ||
		strings.HasPrefix(name, "cbbo") || strings.HasPrefix(name, "cmbp"):
		priceSev := warn
		if s == dbn.SchemaTrades || s == dbn.SchemaTbbo || s == dbn.SchemaTcbbo {
			priceSev = ""
		}
		rules = append(rules,
			sdk.Rule{Type: "not_null", Fields: []string{"price"}, Severity: priceSev},
			sdk.Rule{Type: "min", Fields: []string{"price"}, Min: "0", Severity: warn},
			sdk.Rule{Type: "non_negative", Fields: []string{"size"}},
			sdk.Rule{Type: "one_of", Fields: []string{"side"}, Values: []string{"A", "B", "N"}},
			sdk.Rule{Type: "monotonic", Fields: []string{"ts_recv"}, Severity: warn})
	}
	return rules
}
