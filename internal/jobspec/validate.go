package jobspec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr"

	"github.com/hdi-dev/hdi/internal/schedule"
	"github.com/hdi-dev/hdi/internal/suggest"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

var (
	jobNameRe      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	providerNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	identRe        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)
	columnRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// validator collects problems with the line of the key they concern.
type validator struct {
	j    *Job
	errs Errors
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, v.j.KeyError(path, fmt.Sprintf(format, args...)))
}

func (v *validator) set(path string) bool { _, ok := v.j.pos[path]; return ok }

// Validate checks the job's own values: required keys, known modes,
// severities, rule types with the parameters each needs (regex and expr must
// compile), mapping columns with exactly one value source, transforms and
// casts, limits, declared columns and the dates (resolved against now).
// What only the provider knows (its datasets, streams, symbols and params)
// it checks when the job is planned (see the runner's Validate). The error
// is an Errors with one "file:line: message" per problem.
func (j *Job) Validate(now time.Time) error {
	v := &validator{j: j}
	v.job(now)
	return v.errs.err()
}

func (v *validator) job(now time.Time) {
	j := v.j
	switch {
	case j.Name == "":
		v.errorf("name", "is required")
	case !jobNameRe.MatchString(j.Name):
		v.errorf("name", "%q: use letters, digits, '.', '_' and '-' (at most 100)", truncate(j.Name))
	}
	switch {
	case j.Provider.Name == "":
		v.errorf("provider.name", "is required (e.g. databento, csv)")
	case !providerNameRe.MatchString(j.Provider.Name):
		v.errorf("provider.name", "%q: use lowercase letters, digits, '_' and '-' (the plugin is hdi-provider-NAME)", truncate(j.Provider.Name))
	}
	for k := range j.Provider.Config {
		if k == "" {
			v.errorf("provider.config", "empty key")
		}
	}
	v.source(now)
	if j.Chunking.SymbolsPerUnit < 0 {
		v.errorf("chunking.symbols_per_unit", "must be >= 0 (0: the provider's default)")
	}
	if j.Target.Table != "" && !identRe.MatchString(j.Target.Table) {
		v.errorf("target.table", "%q is not a table name (name or schema.name)", truncate(j.Target.Table))
	}
	if j.Target.Mode != "" && !contains(Modes, j.Target.Mode) {
		v.errorf("target.mode", "unknown load mode %q; use %s", truncate(j.Target.Mode), strings.Join(Modes, " or "))
	}
	if j.Concurrency < 0 || j.Concurrency > MaxConcurrency || (j.Concurrency == 0 && v.set("concurrency")) {
		v.errorf("concurrency", "must be 1..%d, got %d", MaxConcurrency, j.Concurrency)
	}
	if j.MaxCost != nil && *j.MaxCost < 0 {
		v.errorf("max_cost", "must be >= 0 (USD), got %g", *j.MaxCost)
	}
	if j.MaxUnits < 0 || (j.MaxUnits == 0 && v.set("max_units")) {
		v.errorf("max_units", "must be at least 1, got %d", j.MaxUnits)
	}
	v.schedule(now)
	v.live()
	if j.Queue != "" && !ValidQueueName(j.Queue) {
		v.errorf("queue", "%q is not a queue name: %s (at most %d)", truncate(j.Queue), QueueNameHelp, MaxQueueName)
	}
	if q := j.Quarantine.MaxPercent; q < 0 || q > 100 {
		v.errorf("quarantine.max_percent", "must be 0..100, got %g", q)
	}
	names := map[string]int{}
	for i := range j.Rules {
		v.rule(i, names)
	}
	v.mapping()
}

// schedule checks schedule and timezone: a scheduled job that reads from
// an API needs a relative range (start: -1d, end: today), or every tick
// would load the same dates.
func (v *validator) schedule(now time.Time) {
	j := v.j
	if j.Schedule == "" {
		if j.Timezone != "" {
			v.errorf("timezone", "is only read with schedule:")
		}
		return
	}
	if _, err := schedule.Location(j.Timezone); err != nil {
		v.errorf("timezone", "%v", err)
		return
	}
	if _, err := schedule.Parse(j.Schedule, j.Timezone); err != nil {
		v.errorf("schedule", "%v", err)
		return
	}
	if len(j.Source.Files) > 0 {
		// A file job loads what is there at each tick (its relative paths
		// start from the job file's directory, wherever the worker runs).
		return
	}
	for _, key := range []string{"source.start", "source.end"} {
		val := j.Source.Start
		if key == "source.end" {
			val = j.Source.End
		}
		if val == "" && key == "source.end" {
			continue // until now
		}
		if p, err := timerange.ParsePoint(key, val, now); err == nil && !p.Relative {
			v.errorf(key, "%q is a fixed date, but the job has a schedule: use a relative range such as start: -1d and end: today, so each run loads new data", truncate(val))
		} else if val == "" {
			v.errorf(key, "a scheduled job needs a relative start such as -1d (each run loads the days before its tick)")
		}
	}
}

// live checks a live job: one session of named streams from now or a
// replay start, with nothing that only a range of the past has.
func (v *validator) live() {
	j := v.j
	if j.Mode != "" && !contains(JobModes, j.Mode) {
		v.errorf("mode", "unknown mode %q; use history (the default) or live", truncate(j.Mode))
		return
	}
	if !j.IsLive() {
		if v.set("live") {
			v.errorf("live", "is only read with mode: live")
		}
		if len(j.Source.Schemas) > 0 {
			v.errorf("source.schemas", "is only read with mode: live (a history job loads one schema: source.schema)")
		}
		return
	}
	s := j.Source
	switch {
	case s.Schema != "" && len(s.Schemas) > 0:
		v.errorf("source.schemas", "give source.schema or source.schemas, not both")
	case len(j.LiveSchemas()) == 0:
		v.errorf("source.schema", "a live job needs its schema (source.schema, or source.schemas for several)")
	}
	seen := map[string]bool{}
	for i, name := range s.Schemas {
		if seen[name] {
			v.errorf(fmt.Sprintf("source.schemas[%d]", i), "schema %q is listed twice", truncate(name))
		}
		seen[name] = true
	}
	if len(j.LiveSchemas()) > 1 && j.Target.Table != "" {
		v.errorf("target.table", "a live job of several schemas loads each into its own table: drop target.table")
	}
	for _, key := range []string{"source.end", "source.files", "source.limit", "chunking", "schedule", "queue", "max_cost"} {
		if v.set(key) {
			v.errorf(key, "is not read by a live job (it runs from its start, or now, until stopped)")
		}
	}
	if j.Target.Mode == ModeReplaceRange {
		v.errorf("target.mode", "a live job appends what it receives: replace-range is for history")
	}
	if j.Live.CommitRows < 0 {
		v.errorf("live.commit_rows", "must be >= 1, got %d", j.Live.CommitRows)
	}
}

func (v *validator) source(now time.Time) {
	j := v.j
	s := &j.Source
	seen := map[string]bool{}
	for i, sym := range s.Symbols {
		p := fmt.Sprintf("source.symbols[%d]", i)
		switch {
		case strings.TrimSpace(sym) == "":
			v.errorf(p, "empty symbol")
		case seen[sym]:
			v.errorf(p, "symbol %q is listed twice", truncate(sym))
		}
		seen[sym] = true
	}
	for i, f := range s.Files {
		if strings.TrimSpace(f) == "" {
			v.errorf(fmt.Sprintf("source.files[%d]", i), "empty path")
		}
	}
	if s.Limit < 0 {
		v.errorf("source.limit", "must be >= 0 (0: no limit)")
	}
	names := map[string]int{}
	for i, c := range s.Columns {
		p := fmt.Sprintf("source.columns[%d]", i)
		if _, err := c.SDK(); err != nil {
			v.errorf(p, "%v", err)
		}
		if prev, dup := names[c.Name]; dup {
			v.errorf(p, "column %q is declared twice (first source.columns[%d])", c.Name, prev)
		}
		names[c.Name] = i
	}
	if _, _, err := j.TimeRange(now); err != nil {
		var te *timerange.Error
		if errors.As(err, &te) {
			msg := te.Msg
			if te.Value != "" {
				msg = fmt.Sprintf("%q %s", te.Value, te.Msg)
			}
			key := "source.start"
			if te.Field == j.keyName("source.end") {
				key = "source.end"
			}
			v.errorf(key, "%s", msg)
		} else {
			v.errorf("source.start", "%v", err)
		}
	}
}

// TimeRange resolves source.start and source.end against now into a
// half-open range (see package timerange: a date-only end is included, an
// end after now is clamped with a warning). Both empty gives the zero Range.
func (j *Job) TimeRange(now time.Time) (timerange.Range, []string, error) {
	return timerange.Parse(j.Source.Start, j.Source.End, timerange.Options{
		Now:        func() time.Time { return now },
		StartField: j.keyName("source.start"),
		EndField:   j.keyName("source.end"),
	})
}

func (v *validator) rule(i int, names map[string]int) {
	r := &v.j.Rules[i]
	p := fmt.Sprintf("rules[%d]", i)
	if r.Name != "" {
		if prev, dup := names[r.Name]; dup {
			v.errorf(p+".name", "rule name %q is used twice (first rules[%d])", truncate(r.Name), prev)
		}
		names[r.Name] = i
	}
	if r.Severity != "" && !contains(Severities, r.Severity) {
		v.errorf(p+".severity", "unknown severity %q; use error (quarantine the row) or warn (load it and count it)", truncate(r.Severity))
	}
	if r.Type == "" {
		v.errorf(p, "type is required; one of %s", strings.Join(RuleTypes, ", "))
		return
	}
	spec, ok := ruleParams[r.Type]
	if !ok {
		msg := fmt.Sprintf("unknown rule type %q", truncate(r.Type))
		if s := suggest.Closest(r.Type, RuleTypes); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		v.errorf(p+".type", "%s; use one of %s", msg, strings.Join(RuleTypes, ", "))
		return
	}
	has := map[string]bool{
		"field": r.Field != "", "fields": len(r.Fields) > 0, "min": r.Min != nil, "max": r.Max != nil,
		"values": len(r.Values) > 0, "pattern": r.Pattern != "", "expr": r.Expr != "",
	}
	allowed := map[string]bool{}
	for _, g := range append(append([]string{}, spec.need...), spec.opt...) {
		for _, k := range strings.Split(g, "|") {
			allowed[k] = true
		}
	}
	for _, k := range []string{"field", "fields", "min", "max", "values", "pattern", "expr"} {
		if has[k] && !allowed[k] {
			v.errorf(p+"."+k, "%s rules do not take %s (they take %s)", r.Type, k, paramList(spec))
		}
	}
	for _, g := range spec.need {
		alts := strings.Split(g, "|")
		n := 0
		for _, k := range alts {
			if has[k] {
				n++
			}
		}
		switch {
		case n == 0:
			v.errorf(p, "%s rules need %s", r.Type, strings.Join(alts, " or "))
		case n > 1:
			v.errorf(p+"."+alts[1], "%s rules take %s, not both", r.Type, strings.Join(alts, " or "))
		}
	}
	for k, f := range r.Fields {
		if strings.TrimSpace(f) == "" {
			v.errorf(fmt.Sprintf("%s.fields[%d]", p, k), "empty field name")
		}
	}
	switch r.Type {
	case RuleRange:
		if r.Min != nil && r.Max != nil && r.Max.Rat().Cmp(r.Min.Rat()) < 0 {
			v.errorf(p+".max", "max %s is below min %s", *r.Max, *r.Min)
		}
	case RuleRegex:
		if r.Pattern != "" {
			if _, err := regexp.Compile(r.Pattern); err != nil {
				v.errorf(p+".pattern", "does not compile: %s", oneLine(err.Error()))
			}
		}
	case RuleExpr:
		if r.Expr != "" {
			if _, err := expr.Compile(r.Expr, expr.AllowUndefinedVariables(), expr.AsBool()); err != nil {
				v.errorf(p+".expr", "does not compile: %s", oneLine(err.Error()))
			}
		}
	case RuleOHLCConsistent:
		if len(r.Fields) > 0 && len(r.Fields) != 4 {
			v.errorf(p+".fields", "ohlc_consistent takes the four field names open, high, low, close in that order, got %d", len(r.Fields))
		}
	case RuleOneOf:
		seen := map[string]bool{}
		for k, val := range r.Values {
			if seen[val] {
				v.errorf(fmt.Sprintf("%s.values[%d]", p, k), "value %q is listed twice", truncate(val))
			}
			seen[val] = true
		}
	}
}

func paramList(spec ruleParam) string {
	var all []string
	all = append(all, spec.need...)
	all = append(all, spec.opt...)
	if len(all) == 0 {
		return "no parameters"
	}
	return strings.ReplaceAll(strings.Join(all, ", "), "|", " or ")
}

// oneLine squeezes a multi-line compiler message onto one line.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(first)
}

func (v *validator) mapping() {
	m := &v.j.Mapping
	cols := map[string]int{}
	for i := range m.Columns {
		c := &m.Columns[i]
		p := fmt.Sprintf("mapping.columns[%d]", i)
		switch {
		case c.Column == "":
			v.errorf(p, "column is required")
		case !columnRe.MatchString(c.Column):
			v.errorf(p+".column", "%q is not a column name (letters, digits, _)", truncate(c.Column))
		default:
			if prev, dup := cols[c.Column]; dup {
				v.errorf(p+".column", "column %q is mapped twice (first mapping.columns[%d])", c.Column, prev)
			}
			cols[c.Column] = i
		}
		var src []string
		if c.From != "" {
			src = append(src, "from")
		}
		if c.Const != nil {
			src = append(src, "const")
		}
		if c.Expr != "" {
			src = append(src, "expr")
		}
		switch len(src) {
		case 0:
			v.errorf(p, "needs exactly one of from, const or expr")
		case 1:
		default:
			v.errorf(p+"."+src[1], "takes exactly one of from, const or expr, not %s", strings.Join(src, " and "))
		}
		if c.Expr != "" {
			if _, err := expr.Compile(c.Expr, expr.AllowUndefinedVariables()); err != nil {
				v.errorf(p+".expr", "does not compile: %s", oneLine(err.Error()))
			}
		}
		if c.Transform != "" && !contains(Transforms, c.Transform) {
			v.errorf(p+".transform", "unknown transform %q; use one of %s", truncate(c.Transform), strings.Join(Transforms, ", "))
		}
		if c.Cast != "" && !contains(Casts, c.Cast) {
			v.errorf(p+".cast", "unknown cast %q; use one of %s", truncate(c.Cast), strings.Join(Casts, ", "))
		}
	}
	for i, f := range m.Drop {
		if strings.TrimSpace(f) == "" {
			v.errorf(fmt.Sprintf("mapping.drop[%d]", i), "empty field name")
		}
	}
}
