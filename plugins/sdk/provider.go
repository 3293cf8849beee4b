// Package sdk is the Go side of the hdi provider contract.
//
// A provider is a separate executable, hdi-provider-NAME, that hdi launches
// through hashicorp/go-plugin over gRPC. The wire contract is the protobuf
// service hdi.provider.v1.Provider (proto/hdi/provider/v1/provider.proto,
// generated into package providerpb). This package wraps it in plain Go:
//
//   - [Provider] is the interface a provider implements and the host calls.
//     The host's gRPC client adapter implements it too, so a provider can be
//     used in process (tests) or out of process (production) the same way.
//   - [Serve] runs a Provider as a plugin; call it from main.
//   - [Sender] receives what Fetch produces: Arrow record batches, symbol
//     mappings, progress, warnings and row-level errors.
//   - [BatchWriter] builds Arrow record batches row by row with typed
//     builders and sends one every N rows.
//
// A minimal provider lives in plugins/example; docs/providers.md explains the
// contract for authors in Go and in other languages.
package sdk

import (
	"context"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// Provider is a source of data. Implementations must be safe for concurrent
// use: the host may run several Fetch calls at once on one plugin process.
type Provider interface {
	// Describe returns who the provider is, its streams and its config keys.
	// It must be cheap and must not do I/O.
	Describe(ctx context.Context) (*Description, error)
	// Check validates config and credentials without fetching data. The
	// error, if any, says what to fix.
	Check(ctx context.Context, config map[string]string) (*CheckResult, error)
	// Plan splits a job into work units with stable keys.
	Plan(ctx context.Context, job *Job) (*Plan, error)
	// Fetch fetches one unit and sends what it reads to out. Returning nil
	// means the unit is complete; returning an error means the host must
	// discard everything received for the unit. Fetch must stop promptly
	// when ctx is done.
	Fetch(ctx context.Context, req *FetchRequest, out Sender) error
}

// Sender receives the output of a Fetch. The implementations in this package
// are safe for concurrent use. An error from any method means the receiver
// is gone or rejected the message: the provider should stop and return it.
type Sender interface {
	// Batch sends a record batch for the named stream. The schema must be the
	// stream's schema. The Sender does not keep rec after it returns; a
	// receiver that wants to keep it calls rec.Retain.
	Batch(stream string, rec arrow.RecordBatch) error
	// Mappings sends symbol mappings.
	Mappings(m []SymbolMapping) error
	// Progress reports how far the fetch is.
	Progress(p Progress) error
	// Warn sends a non-fatal warning about the unit.
	Warn(message string) error
	// RowError reports a source record that could not be converted. The
	// host quarantines it and the fetch goes on.
	RowError(e RowError) error
	// Checkpoint stores state of the unit that the host hands back in
	// FetchRequest.Checkpoint when the unit is fetched again (a retry, a
	// re-run, a forced reload): work already done outside the unit's
	// transaction, such as a paid-for batch job and its verified files.
	// The host keeps it at once, even if the unit then fails, and shows
	// note while the unit runs.
	Checkpoint(state []byte, note string) error
	// LiveCheckpoint says how far a live unit is (Job.Live): the host
	// commits every batch sent before it together with its positions, in
	// one transaction, and hands the committed positions back in
	// FetchRequest.Resume after a reconnect or a restart. Send one after
	// each batch, and while no record arrives at least every few seconds
	// (on the source's heartbeats). A historical unit sends none.
	LiveCheckpoint(c LiveCheckpoint) error
}

// LivePosition is where a live stream is: the last record of the stream
// sent before the LiveCheckpoint that carries it.
type LivePosition struct {
	Stream string
	// Time is that record's index time (the stream's TimeField), ns since
	// the epoch.
	Time int64
	// Sequence is its sequence number at the source (0: none), handed back
	// as it came. It need not order a stream's records (Databento's are
	// per channel): the host never filters records by position; the
	// unique keys drop the overlap of a resume.
	Sequence uint64
}

// LiveCheckpoint tells the host how far a live unit is.
type LiveCheckpoint struct {
	// Positions of the streams that moved since the last checkpoint.
	Positions []LivePosition
	// SourceTime is the source's clock at this point (ns since the epoch):
	// everything it published before has been sent. 0: unknown.
	SourceTime int64
	// Behind: the source says the reader is too slow.
	Behind bool
}

// Description says who a provider is and what it offers.
type Description struct {
	Name        string // short name, NAME in hdi-provider-NAME
	Version     string // the provider's own version
	Description string // one line for humans
	Streams     []Stream
	// Config declares the provider configuration keys (hdi's config file
	// providers.NAME.KEY, a job's provider.config): credentials, endpoints.
	Config []Param
	// Params declares the job parameters (source.params, --param KEY=VALUE).
	Params []Param
	// LiveReplay is how far back a live fetch can start (FetchRequest.Resume,
	// or a live job's Start): the source replays what it published since.
	// 0: no replay. The host fills an older gap with a historical run.
	LiveReplay time.Duration
	// ProtocolVersion is filled in by the SDK (the wire protocol version the
	// plugin was built with); providers leave it zero.
	ProtocolVersion int
}

// Stream returns the stream with the given name, or false.
func (d *Description) Stream(name string) (Stream, bool) {
	for _, s := range d.Streams {
		if s.Name == name {
			return s, true
		}
	}
	return Stream{}, false
}

// StreamKind tells the host what a stream carries.
type StreamKind int

// Stream kinds.
const (
	KindData       StreamKind = iota // tabular data (the default)
	KindDefinition                   // instrument definitions, by convention on stream "definition"
)

// String returns "data" or "definition".
func (k StreamKind) String() string {
	if k == KindDefinition {
		return "definition"
	}
	return "data"
}

// ConflictPolicy says what a record whose key is already stored does.
type ConflictPolicy int

// Conflict policies.
const (
	// ConflictKeep keeps the stored record; the new one is deduplicated.
	ConflictKeep ConflictPolicy = iota
	// ConflictReplace lets a newer record replace the stored one
	// (corrections: definitions, statistics).
	ConflictReplace
)

// String returns "keep" or "replace".
func (c ConflictPolicy) String() string {
	if c == ConflictReplace {
		return "replace"
	}
	return "keep"
}

// Stream is a record type a provider produces, with what the host needs to
// load it: its schema, its key and conflict policy, its time field and the
// rules its records must pass.
type Stream struct {
	Name        string
	Description string
	// Schema is the Arrow schema of every batch on the stream, or nil when
	// the schema is declared by the job (Job.Columns), as for csv.
	Schema *arrow.Schema
	Kind   StreamKind
	// Key lists the fields that identify a record.
	Key []string
	// OnConflict says what a record whose key is already stored does.
	OnConflict ConflictPolicy
	// TimeField is the field holding each record's time (int64 ns or an
	// Arrow timestamp); the host fills its time column from it.
	TimeField string
	// DefaultRules are validation rules for every batch of the stream,
	// unless the job turns them off; a job rule of the same name replaces one.
	DefaultRules []Rule
	// Live: the stream can be fetched live (Job.Live).
	Live bool
}

// Rule is a declarative validation rule, as a job file writes it.
type Rule struct {
	Name     string // empty: derived from type and fields
	Type     string // not_null, min, max, range, one_of, regex, unique, monotonic, ohlc_consistent, non_negative, time_in_range, expr
	Fields   []string
	Min, Max string // exact decimal text in the field's raw units; "" when unset
	Values   []string
	Pattern  string
	Expr     string
	Severity string // "error" (default) or "warn"
}

// ParamType is the type of a configuration key or job parameter. Values are
// strings on the wire; the type tells how to check and show them.
type ParamType int

// Parameter value types.
const (
	ParamString   ParamType = iota + 1
	ParamInt                // a whole number
	ParamFloat              // a decimal number
	ParamBool               // true or false
	ParamDuration           // Go duration syntax, e.g. "30s"
	ParamPath               // a file system path
	ParamChunk              // a chunk length: 1d, 1w, 1mo, 1y, 6h, none (timerange.ParseChunk)
)

// String returns the type's lower-case name.
func (t ParamType) String() string {
	switch t {
	case ParamString:
		return "string"
	case ParamInt:
		return "int"
	case ParamFloat:
		return "float"
	case ParamBool:
		return "bool"
	case ParamDuration:
		return "duration"
	case ParamPath:
		return "path"
	case ParamChunk:
		return "chunk"
	}
	return "unspecified"
}

// Param declares one configuration key or job parameter a provider
// accepts. ParseParams checks values against it; the host does the same
// before it calls Plan, so a user learns of a bad value up front.
type Param struct {
	Name        string
	Type        ParamType
	Default     string // meaningful only when HasDefault
	HasDefault  bool
	Description string
	Secret      bool // never logged or printed (API keys)
	Required    bool
	// Allowed, when not empty, lists the only values accepted.
	Allowed []string
	// Env names an environment variable the host reads the value from when
	// neither the job nor hdi's config sets it.
	Env string
	// Scope, for a job parameter, says which jobs it applies to.
	Scope ParamScope
}

// ParamScope says which jobs a parameter applies to.
type ParamScope int

// Parameter scopes.
const (
	ScopeAny     ParamScope = iota // history and live
	ScopeHistory                   // historical jobs only
	ScopeLive                      // live jobs only
)

// OutOfScope lists the params of decl that a live job (live) or a
// historical one (!live) does not take.
func OutOfScope(decl []Param, live bool) []string {
	not := ScopeLive
	if live {
		not = ScopeHistory
	}
	var out []string
	for _, p := range decl {
		if p.Scope == not {
			out = append(out, p.Name)
		}
	}
	return out
}

// CheckResult is the outcome of a successful Check.
type CheckResult struct {
	Warnings []string
}

// Chunking tells Plan how to cut a job into units.
type Chunking struct {
	// Length is a unit's time length: zero lets the provider choose,
	// timerange.None asks for one unit per range.
	Length         timerange.Chunk
	SymbolsPerUnit int // 0: no limit
}

// ColumnType is the type of a job-declared column.
type ColumnType int

// Column types for job-declared schemas.
const (
	ColumnInt64 ColumnType = iota + 1
	ColumnFloat64
	ColumnString
	ColumnBool
	ColumnTimestamp // Arrow timestamp[ns, UTC]
	ColumnDecimal   // fixed-point int64 in units of 1e-9
	ColumnNumeric   // exact decimal: Arrow decimal128(38, Scale)
)

// String returns the type's name as written in job files.
func (t ColumnType) String() string {
	switch t {
	case ColumnInt64:
		return "int64"
	case ColumnFloat64:
		return "float64"
	case ColumnString:
		return "string"
	case ColumnBool:
		return "bool"
	case ColumnTimestamp:
		return "timestamp"
	case ColumnDecimal:
		return "decimal"
	case ColumnNumeric:
		return "numeric"
	}
	return "unspecified"
}

// ParseColumnType parses a type name as written in job files.
func ParseColumnType(s string) (ColumnType, bool) {
	for t := ColumnInt64; t <= ColumnNumeric; t++ {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

// Column declares one column of a job-declared schema.
type Column struct {
	Name string
	Type ColumnType
	// Format, for timestamps: a Go time layout, or "unix", "unix_ms",
	// "unix_us", "unix_ns" or "rfc3339" (the default).
	Format string
	// Timezone, for timestamps without a zone: an IANA name; default UTC.
	Timezone string
	// Nullable: an empty field is NULL rather than an error.
	Nullable bool
	// Source is the column's name in the source when it differs from Name.
	Source string
	// Scale, for numeric: digits after the decimal point (0..38).
	Scale int
	// What the target column holds, set when hdi declares the columns from
	// the target table (0: no bound); a value beyond it is a row error.
	// Precision, for numeric: at most this many digits in all, after
	// rounding to Scale (numeric(Precision, Scale)).
	Precision int
	// Length, for string: at most this many characters (varchar(n),
	// char(n)); excess spaces are cut, as PostgreSQL does.
	Length int
	// Bits, for int64: a signed integer of 16 (smallint) or 32 (integer)
	// bits; 0 means 64.
	Bits int
}

// Job holds the parameters of an ingest job, as given to Plan and Fetch.
type Job struct {
	Config   map[string]string // provider configuration; may hold secrets
	Stream   string            // the stream wanted, e.g. "trades"
	Dataset  string
	Symbols  []string
	StypeIn  string
	StypeOut string
	// Start and End are the time range [Start, End) in ns since the epoch.
	// The job has one when End > Start (see Range): Start 0 is the epoch,
	// not "unset". Both are 0 when the job has no range.
	Start    int64
	End      int64
	Limit    int64 // maximum records; 0: no limit
	Chunking Chunking
	Files    []string          // files or globs, for file providers
	Columns  []Column          // job-declared schema, for providers without a fixed one
	Params   map[string]string // provider-specific parameters
	// Replace: the host deletes each unit's time range before loading it
	// (replace-range, --force), so units must not overlap: do not split
	// one time range across several units.
	Replace bool
	// Offline: plan without network access (hdi jobs validate, dry runs of
	// local files); leave estimates that need a remote service unset.
	Offline bool
	// DryRun: the plan is only shown (hdi ingest --dry-run), never run.
	// Estimates are best effort: try a remote service once, with a short
	// timeout, and say in a warning which host could not be reached.
	DryRun bool
	// Parallelism is how many units the host loads at once. A provider that
	// would plan fewer units of a large job, and may choose their length,
	// can split them so every stream is used.
	Parallelism int
	// MaxUnits is the most units the host accepts in the plan (0: no cap).
	// A plan that would have more fails with a *TooManyUnits, returned
	// before the units are built (count them first: timerange.Count).
	MaxUnits int64
	// Live asks for a live feed rather than history: Plan returns exactly
	// one unit, without an end, whose Fetch sends records as the source
	// publishes them, with LiveCheckpoints, until the context is cancelled
	// or the feed fails (a cut is ErrorRetryable: the host reconnects with
	// FetchRequest.Resume). Start, when set, asks for a replay from then.
	Live bool
	// LiveStreams, for a live job, are all the streams of its one session
	// (Stream is the first); each loads into its own table.
	LiveStreams []string
}

// Range returns the job's time range, and whether it has one.
func (j *Job) Range() (timerange.Range, bool) { return nsRange(j.Start, j.End) }

// Unit is one piece of work: Fetch loads exactly one.
type Unit struct {
	// Key is stable across plans of the same job and unique within a plan;
	// the host's ledger uses it to skip units already loaded.
	Key     string
	Stream  string
	Dataset string
	// Start and End are the unit's time range [Start, End) in ns since the
	// epoch: it has one when End > Start (see Range; Start 0 is the epoch).
	// Both are 0 for a unit without one (a file of unknown span).
	Start   int64
	End     int64
	Symbols []string
	Files   []string
	// Estimates; nil means unknown (distinct from zero).
	EstimatedRows    *int64
	EstimatedBytes   *int64
	EstimatedCostUSD *float64
	// Params is opaque provider data carried from Plan to Fetch.
	Params map[string]string
	// WholeKey, for one part of data that can also load as one unit (a file
	// split into parts), is that unit's key: the host counts the part as
	// loaded when the whole is (loaded earlier in one piece).
	WholeKey string
	// Note remarks on how the unit will be fetched, for people (the dry
	// run shows it), e.g. "batch delivery: 5.1 GB estimated".
	Note string
}

// Range returns the unit's time range, and whether it has one.
func (u *Unit) Range() (timerange.Range, bool) { return nsRange(u.Start, u.End) }

// nsRange is [start, end) when end > start.
func nsRange(start, end int64) (timerange.Range, bool) {
	if end <= start {
		return timerange.Range{}, false
	}
	return timerange.Range{Start: time.Unix(0, start).UTC(), End: time.Unix(0, end).UTC()}, true
}

// Plan is the outcome of planning a job.
type Plan struct {
	Units    []Unit
	Warnings []string
	// Streams holds the schemas resolved for this job, for streams whose
	// schema the job declares (Stream.Schema nil in Describe).
	Streams []Stream
}

// FetchRequest asks for one unit of a job.
type FetchRequest struct {
	Job  *Job
	Unit Unit
	// BatchRows is the preferred number of rows per batch; 0 lets the
	// provider choose (DefaultBatchRows is a good choice).
	BatchRows int
	// Checkpoint is the last state the provider sent for this unit with
	// Sender.Checkpoint, in an earlier attempt or run; nil for none.
	Checkpoint []byte
	// Resume, for a live unit, is the last committed position of each
	// stream (none: start afresh, at Job.Start or now). Resume so that no
	// record after them is missed; records sent again are dropped by the
	// host's unique keys.
	Resume []LivePosition
}

// SymbolMapping maps an input symbol to an output symbol over a date range.
type SymbolMapping struct {
	Dataset   string
	StypeIn   string
	InSymbol  string
	StypeOut  string
	OutSymbol string
	StartDate string // YYYY-MM-DD, inclusive
	EndDate   string // YYYY-MM-DD, exclusive
}

// ProgressUnit says what Progress counts.
type ProgressUnit int

// Progress units.
const (
	ProgressRecords ProgressUnit = iota + 1
	ProgressBytes
)

// Progress reports how far a fetch is.
type Progress struct {
	Done  int64
	Total int64 // meaningful only when HasTotal
	// HasTotal is false when the total is unknown.
	HasTotal bool
	Unit     ProgressUnit
}

// RowError reports a source record that could not be turned into a row.
type RowError struct {
	File    string // source file or other locator
	Line    int64  // 1-based line or record number
	Column  int64  // 1-based field number, when one field is at fault; else 0
	Message string
	Raw     string // the raw record text
	Stream  string // the stream the row would have gone to
}

// Error formats the row error as "file:line: message", or
// "file:line:column: message" when a field is at fault.
func (e RowError) Error() string {
	loc := e.File + ":" + strconv.FormatInt(e.Line, 10)
	if e.Column > 0 {
		loc += ":" + strconv.FormatInt(e.Column, 10)
	}
	return loc + ": " + e.Message
}

// Int64 returns a pointer to v, for Unit estimates.
func Int64(v int64) *int64 { return &v }

// Float64 returns a pointer to v, for Unit estimates.
func Float64(v float64) *float64 { return &v }
