// Package rules validates Arrow record batches against declarative rules
// (jobspec.RuleSpec): not_null, min, max, range, one_of, regex, unique,
// monotonic, ohlc_consistent, non_negative, time_in_range and expr.
//
// Rules compile once against the stream's Arrow schema (a missing or
// wrong-typed field is a compile error naming the rule, file and line);
// built-ins then run as tight loops over typed arrays without per-row
// allocation. A failing row of an `error` rule is rejected (quarantined,
// never loaded); a failing row of a `warn` rule is loaded and counted.
package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Options tune Compile.
type Options struct {
	// File is the job file the rules come from, for messages.
	File string
	// Stream names the stream (the provider schema, e.g. trades), for messages.
	Stream string
	// Defaults are the stream's default rules (the provider declares them,
	// see FromSDK), compiled before the job's own. A default naming a field
	// the stream lacks is skipped, not an error; a job rule of the same name
	// replaces a default.
	Defaults []jobspec.RuleSpec
	// MaxExamples is how many failing rows each rule keeps per batch for its
	// log line (default 3).
	MaxExamples int
}

// Set is a compiled rule set for one stream schema. It is immutable; per-unit
// state lives in a Checker.
type Set struct {
	schema      *arrow.Schema
	rules       []*rule
	maxExamples int
}

// RuleInfo describes one compiled rule.
type RuleInfo struct {
	Name, Type, Severity string
}

// rule is one compiled rule.
type rule struct {
	RuleInfo
	isError bool
	// eval calls s.fail(row) for every failing row of the batch.
	eval func(c *Checker, rec arrow.RecordBatch, s *sink)
	// msg explains why row failed (slow path: examples, rejections only).
	msg func(c *Checker, rec arrow.RecordBatch, row int) string
	// newState makes per-unit state (monotonic), or nil.
	newState func() any
}

// Compile compiles the defaults in opts and specs against schema.
//
// Names: a rule without a name is named after its type and field
// (min_price). A job rule named like a default replaces it, so writing a
// default rule out again (to change its bounds or severity) is no conflict.
// Two unnamed job rules that would share a name get _2, _3 ... A rule of a
// per-field type (not_null, min, max, range, non_negative) with several
// fields is one rule per field, named NAME.FIELD when named.
func Compile(specs []jobspec.RuleSpec, schema *arrow.Schema, opts Options) (*Set, error) {
	s := &Set{schema: schema, maxExamples: opts.MaxExamples}
	if s.maxExamples <= 0 {
		s.maxExamples = 3
	}
	jobNames := map[string]bool{}
	var jobRules []jobspec.RuleSpec
	for _, spec := range specs {
		for _, one := range perField(spec) {
			base := ruleName(one)
			name := base
			for n := 2; jobNames[name]; n++ {
				if one.Name != "" {
					return nil, ruleErr(one, opts, "duplicate rule name %q: give it a unique `name:`", name)
				}
				name = fmt.Sprintf("%s_%d", base, n)
			}
			one.Name = name
			jobNames[name] = true
			jobRules = append(jobRules, one)
		}
	}
	add := func(spec jobspec.RuleSpec, isDefault bool) error {
		r, err := compileRule(spec, schema, opts, isDefault)
		if err != nil || r == nil {
			return err
		}
		s.rules = append(s.rules, r)
		return nil
	}
	for _, d := range opts.Defaults {
		for _, one := range perField(d) {
			one.Name = ruleName(one)
			if jobNames[one.Name] {
				continue // the job's rule of that name replaces it
			}
			if err := add(one, true); err != nil {
				return nil, err
			}
		}
	}
	for _, spec := range jobRules {
		if err := add(spec, false); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// perFieldTypes check each of their fields on its own.
var perFieldTypes = map[string]bool{"not_null": true, "min": true, "max": true, "range": true, "non_negative": true}

// perField splits a rule over several fields of a per-field type into one
// rule per field.
func perField(spec jobspec.RuleSpec) []jobspec.RuleSpec {
	fields := spec.Fields
	if spec.Field != "" {
		fields = append([]string{spec.Field}, fields...)
	}
	if !perFieldTypes[spec.Type] || len(fields) <= 1 {
		if perFieldTypes[spec.Type] && len(fields) == 1 {
			spec.Field, spec.Fields = fields[0], nil
		}
		return []jobspec.RuleSpec{spec}
	}
	out := make([]jobspec.RuleSpec, len(fields))
	for i, f := range fields {
		one := spec
		one.Field, one.Fields = f, nil
		if spec.Name != "" {
			one.Name = spec.Name + "." + f
		}
		out[i] = one
	}
	return out
}

// ruleName is the rule's name, or one made of its type and fields.
func ruleName(spec jobspec.RuleSpec) string {
	if spec.Name != "" {
		return spec.Name
	}
	return defaultName(spec)
}

// FromSDK turns a provider's declared rules into job rule specs.
func FromSDK(rs []sdk.Rule) []jobspec.RuleSpec {
	out := make([]jobspec.RuleSpec, len(rs))
	for i, r := range rs {
		spec := jobspec.RuleSpec{Name: r.Name, Type: r.Type, Fields: r.Fields, Values: r.Values, Pattern: r.Pattern, Expr: r.Expr, Severity: r.Severity}
		if len(spec.Fields) == 1 && r.Type != "ohlc_consistent" && r.Type != "unique" {
			spec.Field, spec.Fields = spec.Fields[0], nil
		}
		if r.Min != "" {
			spec.Min = jobspec.NumberOf(r.Min)
		}
		if r.Max != "" {
			spec.Max = jobspec.NumberOf(r.Max)
		}
		out[i] = spec
	}
	return out
}

// Rules lists the compiled rules in evaluation order.
func (s *Set) Rules() []RuleInfo {
	out := make([]RuleInfo, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.RuleInfo
	}
	return out
}

// Checker checks the batches of one unit, in order: it carries the state of
// monotonic rules from batch to batch and the unit's requested time range.
// It is not safe for concurrent use; make one per unit.
type Checker struct {
	set        *Set
	start, end int64 // ns; end == 0: no range
	hasRange   bool
	state      []any
	sink       sink
}

// NewUnit returns a Checker for one unit whose requested range is
// [start, end) (zero times: time_in_range rules pass everything).
func (s *Set) NewUnit(start, end time.Time) *Checker {
	c := &Checker{set: s, state: make([]any, len(s.rules))}
	if !start.IsZero() && !end.IsZero() {
		c.start, c.end, c.hasRange = start.UnixNano(), end.UnixNano(), true
	}
	for i, r := range s.rules {
		if r.newState != nil {
			c.state[i] = r.newState()
		}
	}
	return c
}

func ruleErr(spec jobspec.RuleSpec, opts Options, format string, args ...any) error {
	name := spec.Name
	if name == "" {
		name = defaultName(spec)
	}
	loc := opts.File
	if spec.Line > 0 {
		loc = fmt.Sprintf("%s:%d", opts.File, spec.Line)
	}
	if loc == "" {
		loc = "built-in"
	}
	return fmt.Errorf("rule %q (%s): %s", name, loc, fmt.Sprintf(format, args...))
}

func defaultName(spec jobspec.RuleSpec) string {
	parts := []string{spec.Type}
	if spec.Field != "" {
		parts = append(parts, spec.Field)
	}
	parts = append(parts, spec.Fields...)
	return strings.Join(parts, "_")
}

func fieldList(schema *arrow.Schema) string {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}
