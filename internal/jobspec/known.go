package jobspec

import "regexp"

// Rule types.
const (
	RuleNotNull        = "not_null"
	RuleMin            = "min"
	RuleMax            = "max"
	RuleRange          = "range"
	RuleOneOf          = "one_of"
	RuleRegex          = "regex"
	RuleUnique         = "unique"
	RuleMonotonic      = "monotonic"
	RuleOHLCConsistent = "ohlc_consistent"
	RuleNonNegative    = "non_negative"
	RuleTimeInRange    = "time_in_range"
	RuleExpr           = "expr"
)

// RuleTypes lists every rule type, in documentation order.
var RuleTypes = []string{RuleNotNull, RuleMin, RuleMax, RuleRange, RuleOneOf, RuleRegex, RuleUnique, RuleMonotonic, RuleOHLCConsistent, RuleNonNegative, RuleTimeInRange, RuleExpr}

// ruleParam says which parameters a rule type takes. need lists groups of
// which exactly one key must be set ("field|fields" is one group); opt lists
// keys it may also take. name, type and severity are always allowed.
type ruleParam struct {
	need []string
	opt  []string
	doc  string
}

var ruleParams = map[string]ruleParam{
	RuleNotNull:        {need: []string{"field|fields"}, doc: "the field(s) must not be null"},
	RuleMin:            {need: []string{"field|fields", "min"}, doc: "value >= min"},
	RuleMax:            {need: []string{"field|fields", "max"}, doc: "value <= max"},
	RuleRange:          {need: []string{"field|fields", "min", "max"}, doc: "min <= value <= max"},
	RuleOneOf:          {need: []string{"field", "values"}, doc: "value is one of values"},
	RuleRegex:          {need: []string{"field", "pattern"}, doc: "value matches the RE2 pattern"},
	RuleUnique:         {need: []string{"field|fields"}, doc: "the field(s) are unique within a unit"},
	RuleMonotonic:      {need: []string{"field"}, doc: "the field never decreases within a unit"},
	RuleOHLCConsistent: {opt: []string{"fields"}, doc: "low <= open, close <= high (fields: open, high, low, close names)"},
	RuleNonNegative:    {need: []string{"field|fields"}, doc: "value >= 0"},
	RuleTimeInRange:    {opt: []string{"field"}, doc: "the timestamp (default ts_event) is inside the unit's time range"},
	RuleExpr:           {need: []string{"expr"}, doc: "the expr-lang expression is true for the row"},
}

// Severities lists the rule severities.
var Severities = []string{SeverityError, SeverityWarn}

// JobModes lists the job modes.
var JobModes = []string{ModeHistory, ModeLive}

// Modes lists the load modes.
var Modes = []string{ModeDedupeAppend, ModeReplaceRange}

// Transforms lists the mapping transforms.
var Transforms = []string{"fixed_to_decimal", "ns_to_timestamptz", "upper", "lower", "trim"}

// Casts lists the PostgreSQL types a mapping may cast to.
var Casts = []string{"bigint", "integer", "smallint", "numeric", "double precision", "text", "boolean", "timestamptz"}

// QueueNameRe is what a worker queue may be called (River's rule).
var QueueNameRe = regexp.MustCompile(`^[a-z0-9]+(?:[_|-]?[a-z0-9]+)*$`)

// MaxQueueName is the longest a worker queue's name may be.
const MaxQueueName = 64

// QueueNameHelp says what a queue name may be, for the error that refuses one.
const QueueNameHelp = "use lowercase letters and digits, joined by '-' or '_'"

// ValidQueueName reports whether name may name a worker queue.
func ValidQueueName(name string) bool {
	return len(name) <= MaxQueueName && QueueNameRe.MatchString(name)
}

// MaxConcurrency is the highest concurrency a job may ask for.
const MaxConcurrency = 64

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
