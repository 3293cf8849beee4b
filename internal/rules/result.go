package rules

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Result is the outcome of checking one batch.
type Result struct {
	Rows int
	// Rejected[i] is true when row i failed an error rule (nil: none did).
	// The loader skips these rows; Rejections says why.
	Rejected []bool
	// Rejections has one entry per rejected row, in row order, with every
	// error rule it failed (a row is quarantined once).
	Rejections []Rejection
	// Rules has one entry per rule that failed at least once in the batch.
	Rules []RuleCount
	// WarnedRows counts the loaded rows that failed at least one warn rule.
	WarnedRows int
}

// Rejection is one rejected row.
type Rejection struct {
	Row      int
	Rules    []string
	Messages []string
}

// RuleCount is one rule's failures in a batch, with the first few examples
// (for one log line per rule).
type RuleCount struct {
	RuleInfo
	Failed   int
	Examples []Example
}

// Example is one failing row.
type Example struct {
	Row     int
	Message string
}

// sink collects failures while rules run.
type sink struct {
	rule   int32
	fails  []failure
	counts []int
}

type failure struct{ row, rule int32 }

func (s *sink) fail(row int) {
	s.counts[s.rule]++
	s.fails = append(s.fails, failure{int32(row), s.rule})
}

// Check runs every rule over rec. Rules see rows in order, so monotonic
// state carries over to the next batch of the unit.
func (c *Checker) Check(rec arrow.RecordBatch) (*Result, error) {
	if !sameSchema(rec.Schema(), c.set.schema) {
		return nil, fmt.Errorf("rules: batch schema changed mid-stream (fields: %s; rules compiled for: %s)", fieldList(rec.Schema()), fieldList(c.set.schema))
	}
	n := int(rec.NumRows())
	s := &c.sink
	s.fails = s.fails[:0]
	if cap(s.counts) < len(c.set.rules) {
		s.counts = make([]int, len(c.set.rules))
	}
	s.counts = s.counts[:len(c.set.rules)]
	clear(s.counts)
	for i, r := range c.set.rules {
		s.rule = int32(i)
		r.eval(c, rec, s)
	}
	res := &Result{Rows: n}
	if len(s.fails) == 0 {
		return res, nil
	}
	// Per-rule counts and examples.
	var perRule []int // index into res.Rules, by rule
	for i, cnt := range s.counts {
		if cnt > 0 {
			if perRule == nil {
				perRule = make([]int, len(c.set.rules))
			}
			perRule[i] = len(res.Rules)
			res.Rules = append(res.Rules, RuleCount{RuleInfo: c.set.rules[i].RuleInfo, Failed: cnt})
		}
	}
	for _, f := range s.fails {
		rc := &res.Rules[perRule[f.rule]]
		if len(rc.Examples) < c.set.maxExamples {
			rc.Examples = append(rc.Examples, Example{Row: int(f.row), Message: c.set.rules[f.rule].msg(c, rec, int(f.row))})
		}
	}
	// Rejections: error failures grouped by row; warned rows.
	var warned []bool
	for _, f := range s.fails {
		if c.set.rules[f.rule].isError {
			if res.Rejected == nil {
				res.Rejected = make([]bool, n)
			}
			res.Rejected[f.row] = true
		} else {
			if warned == nil {
				warned = make([]bool, n)
			}
			warned[f.row] = true
		}
	}
	if res.Rejected != nil {
		at := map[int32]int{}
		for row, rej := range res.Rejected {
			if rej {
				at[int32(row)] = len(res.Rejections)
				res.Rejections = append(res.Rejections, Rejection{Row: row})
			}
		}
		for _, f := range s.fails {
			r := c.set.rules[f.rule]
			if r.isError {
				rj := &res.Rejections[at[f.row]]
				rj.Rules = append(rj.Rules, r.Name)
				rj.Messages = append(rj.Messages, r.msg(c, rec, int(f.row)))
			}
		}
	}
	for row, w := range warned {
		if w && (res.Rejected == nil || !res.Rejected[row]) {
			res.WarnedRows++
		}
	}
	return res, nil
}

// RejectedCount is the number of rejected rows.
func (r *Result) RejectedCount() int { return len(r.Rejections) }

func sameSchema(a, b *arrow.Schema) bool {
	if a == b {
		return true
	}
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		x, y := a.Field(i), b.Field(i)
		if x.Name != y.Name || !arrow.TypeEqual(x.Type, y.Type) {
			return false
		}
	}
	return true
}
