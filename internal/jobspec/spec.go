// Package jobspec defines hdi's job files: what to fetch from which provider,
// how to check it, how to map it, and where and how to load it.
package jobspec

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// Job is one parsed job file.
type Job struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	// Mode is history (the default: a range of the past, in units) or
	// live (a feed recorded as it is published, by `hdi stream`).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`

	Provider Provider `yaml:"provider" json:"provider"`
	Source   Source   `yaml:"source" json:"source"`
	Chunking Chunking `yaml:"chunking,omitempty" json:"chunking,omitempty"`
	Target   Target   `yaml:"target,omitempty" json:"target,omitempty"`

	// DefaultRules turns the schema's built-in validation rules on (default true).
	DefaultRules *bool      `yaml:"default_rules,omitempty" json:"default_rules,omitempty"`
	Rules        []RuleSpec `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Quarantine limits how much of a unit may be rejected.
	Quarantine Quarantine `yaml:"quarantine,omitempty" json:"quarantine,omitempty"`

	Mapping Mapping `yaml:"mapping,omitempty" json:"mapping,omitempty"`

	// Concurrency is how many units load at once (default 2).
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// MaxCost refuses to start a run whose estimated cost (USD) is higher.
	MaxCost *float64 `yaml:"max_cost,omitempty" json:"max_cost,omitempty"`
	// MaxUnits refuses a plan of more units (default DefaultMaxUnits): a
	// range cut into small chunks would otherwise plan without bound.
	MaxUnits int64 `yaml:"max_units,omitempty" json:"max_units,omitempty"`

	// Schedule, a cron expression, makes `hdi worker` queue a run of the
	// job at each tick (see package schedule); its range must be relative.
	Schedule string `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	// Timezone is the IANA time zone the schedule is read in (default UTC).
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// Queue is the worker queue its queued units go to (default "default").
	Queue string `yaml:"queue,omitempty" json:"queue,omitempty"`

	// Live configures a live job (mode: live).
	Live Live `yaml:"live,omitempty" json:"live,omitzero"`

	// File is where the job was read from ("" for ad-hoc jobs). Relative
	// source.files start from its directory (see Options).
	File string `yaml:"-" json:"-"`
	// UnsetEnv says, for each use of a variable of provider.config left
	// unresolved (only with Options.KeepUnsetEnv), where it is and which
	// variable is not set: warnings, since a run needs them.
	UnsetEnv Errors `yaml:"-" json:"-"`
	// Flags maps the keys whose value came from a command-line flag to
	// that flag ("source.start": "--start"), so errors name what the user
	// typed.
	Flags map[string]string `yaml:"-" json:"-"`

	// pos maps key paths (source.schema, rules[1].min) to their lines.
	pos map[string]int
}

// Provider names the plugin and its configuration. Config values, and only
// they, may use ${ENV} and ${ENV:-default} (for secrets such as api_key).
type Provider struct {
	Name   string            `yaml:"name" json:"name"`
	Config map[string]string `yaml:"config,omitempty" json:"config,omitempty"`
}

// Source holds the parameters passed to the provider's Plan.
type Source struct {
	Dataset string `yaml:"dataset,omitempty" json:"dataset,omitempty"`
	// Schema is the provider's stream; optional when the provider has one
	// stream, or when files name theirs.
	Schema string `yaml:"schema,omitempty" json:"schema,omitempty"`
	// Schemas are the streams of a live job's one session, each loaded
	// into its own table (instead of schema).
	Schemas  []string `yaml:"schemas,omitempty" json:"schemas,omitempty"`
	Symbols  []string `yaml:"symbols,omitempty" json:"symbols,omitempty"`
	StypeIn  string   `yaml:"stype_in,omitempty" json:"stype_in,omitempty"`
	StypeOut string   `yaml:"stype_out,omitempty" json:"stype_out,omitempty"`
	// Start and End are dates (end included), RFC 3339 timestamps (end
	// excluded), nanoseconds since the epoch, or relative forms: today,
	// yesterday, now, -30d, -2w, -6mo (or -6m), -1y, -12h. See package
	// timerange and Job.TimeRange.
	Start string `yaml:"start,omitempty" json:"start,omitempty"`
	End   string `yaml:"end,omitempty" json:"end,omitempty"`
	Limit int64  `yaml:"limit,omitempty" json:"limit,omitempty"`
	// Files are local paths, directories or globs (file sources).
	Files []string `yaml:"files,omitempty" json:"files,omitempty"`
	// Columns declare the columns of a stream whose schema the job gives
	// (csv): NAME:TYPE text (sdk.ParseColumn) or a mapping per column.
	Columns []Column `yaml:"columns,omitempty" json:"columns,omitempty"`
	// Params are provider-specific parameters passed through as they are.
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
}

// Chunking splits the work into units.
type Chunking struct {
	// Time is the length of one unit's time range: 1d, 1w, 1mo, 1y, a
	// duration such as 6h, or none (the zero Chunk: the provider chooses).
	Time timerange.Chunk `yaml:"time,omitempty" json:"time,omitzero"`
	// SymbolsPerUnit caps the symbols in one unit (0: the provider's default).
	SymbolsPerUnit int `yaml:"symbols_per_unit,omitempty" json:"symbols_per_unit,omitempty"`
}

// Job modes.
const (
	ModeHistory = "history"
	ModeLive    = "live"
)

// Live configures how a live job commits and recovers.
type Live struct {
	// CommitRows commits once this many rows are pending, with the
	// provider's next position (default 10000).
	CommitRows int `yaml:"commit_rows,omitempty" json:"commit_rows,omitempty"`
	// CommitInterval commits pending rows at least this often (default
	// 500ms): a record waits at most about this long to be stored.
	CommitInterval Duration `yaml:"commit_interval,omitempty" json:"commit_interval,omitempty"`
	// Backfill fills a gap longer than the provider's replay window (the
	// stream was down for long) with a historical run first (default true).
	Backfill *bool `yaml:"backfill,omitempty" json:"backfill,omitempty"`
}

// Live defaults.
const (
	DefaultCommitRows     = 10000
	DefaultCommitInterval = 500 * time.Millisecond
)

// IsLive reports whether the job records a live feed.
func (j *Job) IsLive() bool { return j.Mode == ModeLive }

// LiveSchemas are the streams of a live job's session.
func (j *Job) LiveSchemas() []string {
	if len(j.Source.Schemas) > 0 {
		return j.Source.Schemas
	}
	if j.Source.Schema != "" {
		return []string{j.Source.Schema}
	}
	return nil
}

// Duration is a Go duration in a job file ("500ms", "2s").
type Duration time.Duration

// UnmarshalText reads a positive Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil || v <= 0 {
		return fmt.Errorf("%q is not a positive duration (e.g. 500ms, 2s)", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Load modes.
const (
	ModeDedupeAppend = "dedupe-append"
	ModeReplaceRange = "replace-range"
)

// Target is where rows go.
type Target struct {
	// Table defaults to the table of the source schema.
	Table string `yaml:"table,omitempty" json:"table,omitempty"`
	// Mode is dedupe-append (default) or replace-range.
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// Severities.
const (
	SeverityError = "error" // quarantine the row
	SeverityWarn  = "warn"  // load it and count it
)

// RuleSpec is one validation rule. Type is one of not_null, min, max, range,
// one_of, regex, unique, monotonic, ohlc_consistent, non_negative,
// time_in_range, expr.
type RuleSpec struct {
	Name     string   `yaml:"name,omitempty" json:"name,omitempty"`
	Type     string   `yaml:"type" json:"type"`
	Field    string   `yaml:"field,omitempty" json:"field,omitempty"`
	Fields   []string `yaml:"fields,omitempty" json:"fields,omitempty"`
	Min      *Number  `yaml:"min,omitempty" json:"min,omitempty"`
	Max      *Number  `yaml:"max,omitempty" json:"max,omitempty"`
	Values   []string `yaml:"values,omitempty" json:"values,omitempty"`
	Pattern  string   `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	Expr     string   `yaml:"expr,omitempty" json:"expr,omitempty"`
	Severity string   `yaml:"severity,omitempty" json:"severity,omitempty"`
	// Line is the rule's line in its file, for messages.
	Line int `yaml:"-" json:"-"`
}

// Quarantine limits rejected rows per unit.
type Quarantine struct {
	// MaxPercent fails a unit when more than this share of its rows is
	// quarantined (0: no limit).
	MaxPercent float64 `yaml:"max_percent,omitempty" json:"max_percent,omitempty"`
}

// Mapping turns source fields into target columns.
type Mapping struct {
	// Defaults maps every source field to the column of the same name (default true).
	Defaults *bool `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	// Columns add or override target columns.
	Columns []ColumnSpec `yaml:"columns,omitempty" json:"columns,omitempty"`
	// Drop lists source fields not to load.
	Drop []string `yaml:"drop,omitempty" json:"drop,omitempty"`
}

// ColumnSpec fills one target column. Exactly one of From, Const and Expr
// gives the value; Transform, Cast and Enum then change it.
type ColumnSpec struct {
	Column string  `yaml:"column" json:"column"`
	From   string  `yaml:"from,omitempty" json:"from,omitempty"`
	Const  *string `yaml:"const,omitempty" json:"const,omitempty"`
	Expr   string  `yaml:"expr,omitempty" json:"expr,omitempty"`
	// Transform is one of fixed_to_decimal, ns_to_timestamptz, upper, lower, trim.
	Transform string `yaml:"transform,omitempty" json:"transform,omitempty"`
	// Cast converts to a PostgreSQL type: bigint, integer, smallint, numeric, double precision, text, boolean, timestamptz.
	Cast string            `yaml:"cast,omitempty" json:"cast,omitempty"`
	Enum map[string]string `yaml:"enum,omitempty" json:"enum,omitempty"`
	Line int               `yaml:"-" json:"-"`
}

// Column declares one column of a stream whose schema the job gives. In a
// job file it is either NAME:TYPE text (see sdk.ParseColumn) or a mapping
// with name, type and the options below.
type Column struct {
	Name string `yaml:"name" json:"name"`
	// Type is int64, float64, string, bool, timestamp, decimal or numeric.
	Type string `yaml:"type" json:"type"`
	// Format, for timestamps: auto (default), rfc3339, unix, unix_ms,
	// unix_us, unix_ns, or a Go layout.
	Format string `yaml:"format,omitempty" json:"format,omitempty"`
	// Timezone, for timestamps without a zone: an IANA name (default UTC).
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// Nullable: an empty field is NULL (default true).
	Nullable *bool `yaml:"nullable,omitempty" json:"nullable,omitempty"`
	// Source is the column's name in the file when it differs from name.
	Source string `yaml:"source,omitempty" json:"source,omitempty"`
	// Scale, for numeric: digits after the decimal point.
	Scale int `yaml:"scale,omitempty" json:"scale,omitempty"`
}

// UnmarshalText reads the NAME:TYPE text form.
func (c *Column) UnmarshalText(b []byte) error {
	sc, err := sdk.ParseColumn(string(b))
	if err != nil {
		return err
	}
	*c = ColumnFromSDK(sc)
	return nil
}

// SDK returns the column as the provider contract has it, checked.
func (c Column) SDK() (sdk.Column, error) {
	t, ok := sdk.ParseColumnType(c.Type)
	if !ok {
		return sdk.Column{}, fmt.Errorf("column %q: unknown type %q: want int64, float64, string, bool, timestamp, decimal or numeric", c.Name, c.Type)
	}
	out := sdk.Column{Name: c.Name, Type: t, Format: c.Format, Timezone: c.Timezone, Nullable: c.Nullable == nil || *c.Nullable, Source: c.Source, Scale: c.Scale}
	return out, out.Check()
}

// ColumnFromSDK is the job file's form of a contract column.
func ColumnFromSDK(c sdk.Column) Column {
	nullable := c.Nullable
	return Column{Name: c.Name, Type: c.Type.String(), Format: c.Format, Timezone: c.Timezone, Nullable: &nullable, Source: c.Source, Scale: c.Scale}
}

// Number is a rule bound as written (exact decimal text such as 0, -1.5 or
// 5100.25); rules compare it with the field's raw values exactly.
type Number string

// UnmarshalText checks the text is a decimal number.
func (n *Number) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if _, ok := new(big.Rat).SetString(s); !ok || strings.ContainsAny(s, "/") {
		return fmt.Errorf("%q is not a number", s)
	}
	*n = Number(s)
	return nil
}

// Rat returns the number's exact value.
func (n Number) Rat() *big.Rat {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// NumberOf is a Number from an exact value's text.
func NumberOf(s string) *Number { n := Number(s); return &n }
