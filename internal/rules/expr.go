package rules

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/expr-lang/expr"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/rules/arrowval"
)

// exprState is a Checker's own environment for one expr rule.
type exprState struct{ env *arrowval.Env }

// compileExpr: an expr-lang boolean over the row's fields (by name; nulls are
// nil; side/action read as one-character strings; prices are raw int64
// fixed-point). The row passes when the expression is true. The program is
// compiled once; each row reuses one variables map and one VM, filling only
// the fields the expression names.
func compileExpr(r *rule, spec jobspec.RuleSpec, opts Options, schema *arrow.Schema) error {
	if spec.Expr == "" {
		return ruleErr(spec, opts, "expr needs `expr:`")
	}
	prog, env, err := arrowval.CompileExpr(spec.Expr, schema, expr.AsBool())
	if err != nil {
		return ruleErr(spec, opts, "expr %q: %v", spec.Expr, err)
	}
	r.newState = func() any { return &exprState{env: env.Clone()} }
	r.eval = func(c *Checker, rec arrow.RecordBatch, s *sink) {
		e := c.state[s.rule].(*exprState).env
		e.Bind(rec)
		for i := 0; i < int(rec.NumRows()); i++ {
			out, err := e.Run(prog, i)
			if ok, _ := out.(bool); err != nil || !ok {
				s.fail(i)
			}
		}
	}
	r.msg = func(c *Checker, rec arrow.RecordBatch, row int) string {
		e := c.state[indexOf(c, r)].(*exprState).env
		e.Bind(rec)
		if _, err := e.Run(prog, row); err != nil {
			return fmt.Sprintf("expr %q: %v", spec.Expr, err)
		}
		return fmt.Sprintf("expr %q is false", spec.Expr)
	}
	return nil
}

func indexOf(c *Checker, r *rule) int {
	for i, x := range c.set.rules {
		if x == r {
			return i
		}
	}
	return -1
}
