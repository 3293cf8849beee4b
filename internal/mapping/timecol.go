package mapping

// The time column.
//
// Every market-data table has a timestamptz column (TimeColumn, "ts") that
// the loader fills from one of the provider's nanosecond fields, converted to
// microseconds (the nanoseconds stay in their own BIGINT column). Which field
// feeds it is decided here, in one place:
//
//  1. a mapping entry for the column (`column: ts, from: ts_event,
//     transform: ns_to_timestamptz`) always wins;
//  2. then TimeSourceByTable[table] (table name without schema);
//  3. then the first field of TimeSourceOrder present in the stream.
//
// With Databento's schemas rule 3 gives ts_recv for trades, tbbo, mbp-*,
// mbo, bbo-*, cbbo/cmbp, definition, statistics, status and imbalance (all
// carry ts_recv), and ts_event for ohlcv-* bars (which have no ts_recv).

// TimeColumn is the name of the time column the loader fills.
var TimeColumn = "ts"

// TimeSourceOrder lists the candidate source fields for the time column, in
// order of preference.
var TimeSourceOrder = []string{"ts_recv", "ts_event"}

// TimeSourceByTable overrides the source field of the time column per target
// table (e.g. {"ohlcv_1m": "ts_event"}). Empty by default.
var TimeSourceByTable = map[string]string{}

// DatasetColumn is the column filled with the unit's dataset when the stream
// has no field of that name.
var DatasetColumn = "dataset"
