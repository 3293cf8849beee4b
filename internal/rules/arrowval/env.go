package arrowval

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Env is an expr-lang environment over one row of a record batch: a map from
// field name to the cell's value (see Value), reused from row to row. Only
// the fields the expression names are filled.
type Env struct {
	Vars   map[string]any
	names  []string
	idx    []int
	char   []bool
	arrays []arrow.Array
	vm     vm.VM
}

// CompileExpr compiles an expr-lang expression over the fields of schema.
// Fields are typed as Value reads them (int64, uint64, float64, string,
// bool); a null cell is nil at run time, which makes most operations fail; names that are not fields
// are compile errors. It returns the program and an Env to evaluate it with.
func CompileExpr(src string, schema *arrow.Schema, opts ...expr.Option) (*vm.Program, *Env, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, nil, err
	}
	env := &Env{Vars: map[string]any{}}
	seen := map[string]bool{}
	ast.Find(tree.Node, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok && !seen[id.Value] {
			seen[id.Value] = true
			if idx := schema.FieldIndices(id.Value); len(idx) > 0 {
				env.names = append(env.names, id.Value)
				env.idx = append(env.idx, idx[0])
				env.char = append(env.char, IsChar(schema.Field(idx[0])))
			}
		}
		return false
	})
	decl := map[string]any{}
	for _, f := range schema.Fields() {
		decl[f.Name] = sample(f)
	}
	all := append([]expr.Option{expr.Env(decl)}, opts...)
	prog, err := expr.Compile(src, all...)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range env.names {
		env.Vars[n] = nil
	}
	return prog, env, nil
}

// Bind points the environment at a record batch.
func (e *Env) Bind(rec arrow.RecordBatch) {
	e.arrays = e.arrays[:0]
	for _, i := range e.idx {
		e.arrays = append(e.arrays, rec.Column(i))
	}
}

// Row fills the variables with row i of the bound batch.
func (e *Env) Row(i int) map[string]any {
	for k, arr := range e.arrays {
		e.Vars[e.names[k]] = Value(arr, i, e.char[k])
	}
	return e.Vars
}

// Run evaluates prog on row i.
func (e *Env) Run(prog *vm.Program, i int) (any, error) {
	return e.vm.Run(prog, e.Row(i))
}

// Clone returns an Env with its own variables, for use on another goroutine
// or batch.
func (e *Env) Clone() *Env {
	c := &Env{Vars: make(map[string]any, len(e.Vars)), names: e.names, idx: e.idx, char: e.char}
	for k := range e.Vars {
		c.Vars[k] = nil
	}
	return c
}

// Fields returns the names of the fields the expression reads.
func (e *Env) Fields() []string { return e.names }

// sample returns a zero value of the Go type Value yields for f.
func sample(f arrow.Field) any {
	switch f.Type.ID() {
	case arrow.UINT64:
		return uint64(0)
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT16, arrow.UINT32, arrow.TIMESTAMP:
		return int64(0)
	case arrow.UINT8:
		if IsChar(f) {
			return ""
		}
		return int64(0)
	case arrow.FLOAT32, arrow.FLOAT64:
		return float64(0)
	case arrow.BOOL:
		return false
	case arrow.BINARY:
		return []byte(nil)
	}
	return ""
}
