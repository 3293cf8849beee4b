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
)

// Options tune Compile.
type Options struct {
	// File is the job file the rules come from, for messages.
	File string
	// Stream names the stream (the provider schema, e.g. trades), for messages.
	Stream string
	// Defaults are built-in rules (see Defaults) compiled before the job's
	// own; a default naming a field the stream lacks is skipped, not an error.
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
func Compile(specs []jobspec.RuleSpec, schema *arrow.Schema, opts Options) (*Set, error) {
	s := &Set{schema: schema, maxExamples: opts.MaxExamples}
	if s.maxExamples <= 0 {
		s.maxExamples = 3
	}
	names := map[string]bool{}
	add := func(spec jobspec.RuleSpec, isDefault bool) error {
		r, err := compileRule(spec, schema, opts, isDefault)
		if err != nil || r == nil {
			return err
		}
		if names[r.Name] {
			if isDefault {
				return nil
			}
			return ruleErr(spec, opts, "duplicate rule name %q: give it a unique `name:`", r.Name)
		}
		names[r.Name] = true
		s.rules = append(s.rules, r)
		return nil
	}
	for _, d := range opts.Defaults {
		if err := add(d, true); err != nil {
			return nil, err
		}
	}
	for _, spec := range specs {
		if err := add(spec, false); err != nil {
			return nil, err
		}
	}
	return s, nil
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
