package mapping

// The time column.
//
// Every market-data table has a timestamptz column (TimeColumn, "ts") that
// the loader fills from the field the provider declares as the stream's
// time (sdk.Stream.TimeField), converted to microseconds (the nanoseconds
// stay in their own BIGINT column). A mapping entry for the column
// (`column: ts, from: ts_event, transform: ns_to_timestamptz`) wins. The
// host knows no provider's field names: Databento declares ts_recv, or
// ts_event for bars.

// TimeColumn is the name of the time column the loader fills.
var TimeColumn = "ts"

// DatasetColumn is the column filled with the unit's dataset when the stream
// has no field of that name.
var DatasetColumn = "dataset"
