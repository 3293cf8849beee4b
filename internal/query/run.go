package query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/output"
)

// Prepared is a query prepared on a connection: its positional SQL and
// each parameter's PostgreSQL type.
type Prepared struct {
	Query *Query
	// SQL is the statement with $n placeholders.
	SQL string
	// Params are the query's parameters with Type filled from PostgreSQL.
	Params []Param
	// Fields are the columns it returns.
	Fields []pgconn.FieldDescription
	oids   []uint32
	stmt   string
	sd     *pgconn.StatementDescription
	conn   *pgx.Conn
}

// Prepare rewrites the query's named parameters, prepares it on conn and
// learns each parameter's type from PostgreSQL (declared `-- @param` types
// are cast in the statement, so they win).
func Prepare(ctx context.Context, conn *pgx.Conn, q *Query) (*Prepared, error) {
	rw, err := rewritten(q)
	if err != nil {
		return nil, fmt.Errorf("query %s (%s): %w", q.Name, q.Source, err)
	}
	sql, names, stmt := rw.sql, rw.names, rw.stmt
	sd, err := conn.Prepare(ctx, stmt, sql)
	if err != nil {
		return nil, fmt.Errorf("prepare query %s (%s): %w", q.Name, q.Source, err)
	}
	if len(sd.ParamOIDs) != len(names) {
		return nil, fmt.Errorf("query %s (%s): PostgreSQL sees %d parameters, the file names %d (use named parameters only, not $n)", q.Name, q.Source, len(sd.ParamOIDs), len(names))
	}
	p := &Prepared{Query: q, SQL: sql, Fields: sd.Fields, oids: sd.ParamOIDs, stmt: stmt, sd: sd, conn: conn}
	for i, n := range names {
		qp := *q.Param(n)
		qp.Type = typeName(conn, sd.ParamOIDs[i])
		p.Params = append(p.Params, qp)
	}
	return p, nil
}

// rewrittenQuery is a query's positional SQL, its parameter names by
// position and its statement name.
type rewrittenQuery struct {
	sql, stmt string
	names     []string
}

// rewrites remember rewritten queries by their SQL and casts: a server
// prepares the same few queries on every request (the statement itself is
// cached per connection by pgx). Bounded: forgotten all at once.
var rewrites struct {
	sync.Mutex
	m map[string]rewrittenQuery
}

const maxRewrites = 1024

// rewritten rewrites q's named parameters, casting the declared ones.
func rewritten(q *Query) (rewrittenQuery, error) {
	casts := map[string]string{}
	var key strings.Builder
	key.WriteString(q.SQL)
	for _, p := range q.Params {
		if p.declared && p.Type != "" {
			casts[p.Name] = p.Type
			key.WriteString("\x00" + p.Name + "\x00" + p.Type)
		}
	}
	rewrites.Lock()
	rw, ok := rewrites.m[key.String()]
	rewrites.Unlock()
	if ok {
		return rw, nil
	}
	sql, names, _, err := rewrite(q.SQL, casts)
	if err != nil {
		return rewrittenQuery{}, err
	}
	sum := sha256.Sum256([]byte(sql))
	rw = rewrittenQuery{sql: sql, stmt: "hdi_query_" + hex.EncodeToString(sum[:8]), names: names}
	rewrites.Lock()
	if rewrites.m == nil || len(rewrites.m) >= maxRewrites {
		rewrites.m = map[string]rewrittenQuery{}
	}
	rewrites.m[key.String()] = rw
	rewrites.Unlock()
	return rw, nil
}

func typeName(conn *pgx.Conn, oid uint32) string {
	if t, ok := conn.TypeMap().TypeForOID(oid); ok {
		if strings.HasPrefix(t.Name, "_") {
			return t.Name[1:] + "[]"
		}
		return t.Name
	}
	return fmt.Sprintf("oid %d", oid)
}

// Bind turns parameter values into the statement's arguments. A string is
// parsed for the parameter's type (ParseValue); any other value is passed
// to pgx as is. Optional (sqlc.narg) parameters may be missing (NULL); a
// missing required one is an error listing them all. Unknown names are an
// error listing the query's parameters.
func (p *Prepared) Bind(values map[string]any) ([]any, error) {
	known := map[string]bool{}
	for _, prm := range p.Params {
		known[prm.Name] = true
	}
	var unknown []string
	for k := range values {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &BindError{Param: unknown[0], Msg: fmt.Sprintf("%s has no such parameter (its parameters: %s)", p.Query.Name, p.paramList()),
			text: fmt.Sprintf("query %s has no parameter %s (its parameters: %s)", p.Query.Name, strings.Join(unknown, ", "), p.paramList())}
	}
	args := make([]any, len(p.Params))
	var missing []string
	for i, prm := range p.Params {
		v, ok := values[prm.Name]
		if !ok || v == nil {
			if !prm.Optional {
				missing = append(missing, prm.Name+" ("+prm.Type+")")
			}
			continue
		}
		if s, isText := v.(string); isText {
			parsed, err := ParseValue(prm.Name, prm.Type, p.oids[i], s)
			if err != nil {
				return nil, err
			}
			v = parsed
		}
		args[i] = v
	}
	if len(missing) > 0 {
		return nil, &BindError{Param: strings.Fields(missing[0])[0], Msg: "is required (" + strings.Join(missing, ", ") + ")",
			text: fmt.Sprintf("query %s needs --param for %s%s", p.Query.Name, strings.Join(missing, ", "), flagHint(missing))}
	}
	return args, nil
}

func (p *Prepared) paramList() string {
	if len(p.Params) == 0 {
		return "none"
	}
	s := make([]string, len(p.Params))
	for i, prm := range p.Params {
		s[i] = prm.Name + " " + prm.Type
	}
	return strings.Join(s, ", ")
}

// Rows runs the prepared statement with bound arguments, asking for the
// result formats output.Write decodes fastest.
func (p *Prepared) Rows(ctx context.Context, args []any) (pgx.Rows, error) {
	all := make([]any, 0, len(args)+1)
	all = append(all, output.ResultFormats)
	all = append(all, args...)
	rows, err := p.conn.Query(ctx, p.stmt, all...)
	if err != nil {
		return nil, fmt.Errorf("run query %s: %w", p.Query.Name, err)
	}
	return rows, nil
}

// Run prepares q, binds values (with the dataset FillDataset picks), runs
// it and streams the result to w in the options' format. It returns the
// number of rows written.
func Run(ctx context.Context, conn *pgx.Conn, q *Query, values map[string]any, w io.Writer, opts output.Options) (int64, error) {
	rows, err := OpenRows(ctx, conn, q, maps.Clone(values), 0)
	if err != nil {
		return 0, err
	}
	n, err := output.Write(w, rows, opts)
	if err != nil {
		var pe *pgconn.PgError
		if asPgError(err, &pe) {
			return n, fmt.Errorf("run query %s: %w", q.Name, err)
		}
		return n, fmt.Errorf("query %s: %w", q.Name, err)
	}
	return n, nil
}

// symbolFlags are the flags hdi query takes for the symbol parameters of
// any query (docs/queries.md, "Running a query").
var symbolFlags = []struct{ param, flag string }{
	{"symbols", "-s/--symbols"}, {"dataset", "--dataset"}, {"start_ts", "--start"}, {"end_ts", "--end"},
}

// flagHint names the flags that set the missing parameters, if any do.
func flagHint(missing []string) string {
	var hints []string
	for _, m := range missing {
		name := strings.Fields(m)[0]
		for _, f := range symbolFlags {
			if f.param == name {
				hints = append(hints, f.flag+" for "+name)
			}
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return " (or " + strings.Join(hints, ", ") + ")"
}
