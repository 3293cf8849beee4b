// Package query finds, prepares and runs hdi's query files: the built-in
// sql/queries/*.sql (embedded) and a user directory, whose queries override
// built-ins of the same name. A query is named by its sqlc annotation
// (`-- name: Bars :many`); its description is the comment block just above
// that line; its parameters are sqlc's named parameters (@name,
// sqlc.arg(name), sqlc.narg(name)), rewritten to $n and bound, never
// interpolated, and typed by PostgreSQL itself (the statement is prepared and
// described) or declared in the comment block:
//
//	-- @param start timestamptz "first day, included"
//
// A `-- @chart overlay` or `-- @chart pane` line in the block says the
// query's result (a ts column and numeric columns) is drawn on the chart of
// hdi serve's page: on the price scale, or in a pane of its own below.
package query

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hdi-dev/hdi/internal/suggest"
)

// Param is a named parameter of a query.
type Param struct {
	// Name is the parameter's name (@name).
	Name string `json:"name"`
	// Type is the type declared by a `-- @param` comment, else the type
	// PostgreSQL inferred (filled by Prepare; "" before).
	Type string `json:"type"`
	// Optional reports a sqlc.narg parameter: it may be omitted (NULL).
	Optional bool `json:"optional"`
	// Description is the declared description, if any.
	Description string `json:"description,omitempty"`
	declared    bool
}

// Query is one query of a query file.
type Query struct {
	// Name is the sqlc name, e.g. SymbolBars1m.
	Name string `json:"name"`
	// Command is the sqlc command (:many, :one, :exec, ...).
	Command string `json:"command"`
	// Source is where it came from: builtin:FILE.sql or the file's path.
	Source string `json:"source"`
	// Description is the leading comment block (without @param and
	// @chart lines).
	Description string `json:"description"`
	// Chart is where the page draws the result: ChartOverlay, ChartPane, or
	// "" (not annotated; still drawn in a pane when a user picks it and it
	// has a ts column and numeric ones).
	Chart string `json:"chart"`
	// Params are the named parameters in order of first appearance.
	Params []Param `json:"params"`
	// SQL is the statement as written (named parameters, comments).
	SQL string `json:"-"`
	// Writes names the statement's write command (INSERT, UPDATE, ...) when
	// it is not a read: such a file is not offered (hdi query reads only).
	Writes string `json:"-"`
}

// writeKeywords start statements that change data or schema.
var writeKeywords = map[string]bool{
	"INSERT": true, "UPDATE": true, "DELETE": true, "MERGE": true, "TRUNCATE": true, "COPY": true,
	"CREATE": true, "DROP": true, "ALTER": true, "GRANT": true, "REVOKE": true, "CALL": true, "DO": true,
	"VACUUM": true, "REINDEX": true, "CLUSTER": true, "REFRESH": true, "LOCK": true, "SET": true, "RESET": true,
	"COMMENT": true, "SECURITY": true, "IMPORT": true, "LOAD": true, "DISCARD": true,
}

var (
	sqlComment  = regexp.MustCompile(`(?s)--[^\n]*|/\*.*?\*/`)
	sqlWord     = regexp.MustCompile(`[A-Za-z_]+`)
	dataCTEWord = regexp.MustCompile(`(?i)\bAS\s*(?:NOT\s+)?(?:MATERIALIZED\s*)?\(\s*(INSERT|UPDATE|DELETE|MERGE)\b`)
)

// writeCommand returns the write command a statement runs ("" for a read):
// its first keyword, or a data-modifying WITH clause. The query command also
// runs every statement in a read-only transaction, so a write missed here
// still fails.
func writeCommand(sql string) string {
	body := sqlComment.ReplaceAllString(sql, " ")
	first := strings.ToUpper(sqlWord.FindString(body))
	if writeKeywords[first] {
		return first
	}
	if first == "WITH" {
		if m := dataCTEWord.FindStringSubmatch(body); m != nil {
			return strings.ToUpper(m[1])
		}
	}
	return ""
}

// Param returns the parameter named name, or nil.
func (q *Query) Param(name string) *Param {
	for i := range q.Params {
		if q.Params[i].Name == name {
			return &q.Params[i]
		}
	}
	return nil
}

// The kinds of a `-- @chart` annotation.
const (
	// ChartOverlay: series on the chart's price scale (moving averages,
	// bands, VWAP).
	ChartOverlay = "overlay"
	// ChartPane: series in a pane below the price (RSI, ATR, volume).
	ChartPane = "pane"
)

var (
	nameLine  = regexp.MustCompile(`^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*(:[a-z]+)?\s*$`)
	paramLine = regexp.MustCompile(`^--\s*@param\s+([A-Za-z_][A-Za-z0-9_]*)\s+([^"]+?)\s*(?:"(.*)")?\s*$`)
	chartLine = regexp.MustCompile(`^--\s*@chart\b\s*(.*?)\s*$`)
)

// ParseFile splits a query file into its queries. A file without any
// `-- name:` line is one query named after the file (without .sql).
func ParseFile(source string, src []byte) ([]*Query, error) {
	lines := strings.SplitAfter(string(src), "\n")
	var (
		out     []*Query
		cur     *Query
		body    strings.Builder
		comment []string
	)
	finish := func() error {
		if cur == nil {
			return nil
		}
		cur.SQL = strings.TrimSpace(body.String())
		body.Reset()
		if err := cur.scanParams(); err != nil {
			return fmt.Errorf("%s: query %s: %w", source, cur.Name, err)
		}
		out = append(out, cur)
		cur = nil
		return nil
	}
	for _, raw := range lines {
		line := strings.TrimSpace(raw)
		if m := nameLine.FindStringSubmatch(line); m != nil {
			if err := finish(); err != nil {
				return nil, err
			}
			cur = &Query{Name: m[1], Command: m[2], Source: source}
			if err := cur.applyComment(comment); err != nil {
				return nil, fmt.Errorf("%s: query %s: %w", source, cur.Name, err)
			}
			comment = nil
			continue
		}
		if strings.HasPrefix(line, "--") {
			comment = append(comment, line)
		} else if line == "" {
			if cur == nil || strings.TrimSpace(body.String()) == "" {
				comment = nil
			}
		} else {
			comment = nil
		}
		if cur != nil {
			body.WriteString(raw)
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		base := strings.TrimSuffix(filepath.Base(source), ".sql")
		q := &Query{Name: base, Command: ":many", Source: source, SQL: strings.TrimSpace(string(src))}
		if err := q.applyComment(leadingComment(string(src))); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if err := q.scanParams(); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		out = append(out, q)
	}
	return out, nil
}

func leadingComment(src string) []string {
	var c []string
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "--") {
			break
		}
		c = append(c, l)
	}
	return c
}

// applyComment takes the description, the @param declarations and the
// @chart annotation from the comment block above the query.
func (q *Query) applyComment(lines []string) error {
	var desc []string
	for _, l := range lines {
		if m := paramLine.FindStringSubmatch(l); m != nil {
			q.Params = append(q.Params, Param{Name: m[1], Type: strings.TrimSpace(m[2]), Description: m[3], declared: true})
			continue
		}
		if m := chartLine.FindStringSubmatch(l); m != nil {
			if m[1] != ChartOverlay && m[1] != ChartPane {
				return fmt.Errorf("-- @chart %q: want overlay (drawn on the price scale) or pane (drawn in a pane below)", m[1])
			}
			q.Chart = m[1]
			continue
		}
		desc = append(desc, strings.TrimSpace(strings.TrimPrefix(l, "--")))
	}
	d := strings.TrimSpace(strings.Join(desc, " "))
	d = strings.TrimPrefix(d, q.Name+":")
	q.Description = strings.TrimSpace(d)
	return nil
}

// scanParams lists the named parameters of the SQL (declared ones first
// keep their declared type).
func (q *Query) scanParams() error {
	_, names, optional, err := Rewrite(q.SQL)
	if err != nil {
		return err
	}
	var ps []Param
	for _, n := range names {
		p := Param{Name: n, Optional: optional[n]}
		if d := q.Param(n); d != nil {
			p.Type, p.Description, p.declared = d.Type, d.Description, true
		}
		ps = append(ps, p)
	}
	for _, d := range q.Params {
		found := false
		for _, p := range ps {
			found = found || p.Name == d.Name
		}
		if !found {
			return fmt.Errorf("-- @param %s is declared but the query has no @%s", d.Name, d.Name)
		}
	}
	q.Params = ps
	return nil
}

// Catalog is the set of queries by name.
type Catalog struct {
	byName map[string]*Query
}

// Load reads the query files of builtin (its *.sql files, under dir "."
// or "queries") and then of userDir (if not ""), whose queries override
// built-ins of the same name.
func Load(builtin fs.FS, userDir string) (*Catalog, error) {
	c := &Catalog{byName: map[string]*Query{}}
	if builtin != nil {
		files, err := fs.Glob(builtin, "queries/*.sql")
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			files, _ = fs.Glob(builtin, "*.sql")
		}
		for _, f := range files {
			src, err := fs.ReadFile(builtin, f)
			if err != nil {
				return nil, err
			}
			if err := c.add("builtin:"+filepath.Base(f), src); err != nil {
				return nil, err
			}
		}
	}
	if userDir != "" {
		files, err := filepath.Glob(filepath.Join(userDir, "*.sql"))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(userDir); err != nil {
			return nil, fmt.Errorf("queries directory: %w (set --queries-dir / HDI_QUERIES_DIR to an existing directory)", err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read query file: %w", err)
			}
			if err := c.add(f, src); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func (c *Catalog) add(source string, src []byte) error {
	qs, err := ParseFile(source, src)
	if err != nil {
		return err
	}
	for _, q := range qs {
		q.Writes = writeCommand(q.SQL)
		c.byName[q.Name] = q
	}
	return nil
}

// Queries returns every read query, sorted by name.
func (c *Catalog) Queries() []*Query {
	out := make([]*Query, 0, len(c.byName))
	for _, q := range c.byName {
		if q.Writes == "" {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a read query by name (exact, else case-insensitive), or
// reads a .sql file given by path; pick chooses among a file's queries
// (needed when it has more than one). The error of an unknown name lists
// close names; a statement that writes is refused.
func (c *Catalog) Lookup(name, pick string) (*Query, error) {
	q, err := c.lookup(name, pick)
	if err != nil {
		return nil, err
	}
	if w := q.Writes; w != "" {
		return nil, fmt.Errorf("query %s (%s) runs %s: hdi query runs queries that read; change data with a migration or an ingest job", q.Name, q.Source, w)
	}
	return q, nil
}

func (c *Catalog) lookup(name, pick string) (*Query, error) {
	if strings.HasSuffix(name, ".sql") || strings.ContainsRune(name, os.PathSeparator) {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read query file: %w", err)
		}
		qs, err := ParseFile(name, src)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			q.Writes = writeCommand(q.SQL)
		}
		if pick == "" {
			if len(qs) == 1 {
				return qs[0], nil
			}
			return nil, fmt.Errorf("%s has %d queries (%s): pick one with --name", name, len(qs), names(qs))
		}
		for _, q := range qs {
			if q.Name == pick {
				return q, nil
			}
		}
		return nil, fmt.Errorf("%s has no query %q (it has %s)", name, pick, names(qs))
	}
	if q, ok := c.byName[name]; ok {
		return q, nil
	}
	for n, q := range c.byName {
		if strings.EqualFold(n, name) {
			return q, nil
		}
	}
	all := make([]string, 0, len(c.byName))
	for _, q := range c.Queries() {
		all = append(all, q.Name)
	}
	msg := fmt.Sprintf("no query named %q", name)
	if s := Suggest(name, all, 5); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, ", ") + "?"
	}
	return nil, fmt.Errorf("%s (hdi query list shows them all)", msg)
}

func names(qs []*Query) string {
	s := make([]string, len(qs))
	for i, q := range qs {
		s[i] = q.Name
	}
	return strings.Join(s, ", ")
}

// Suggest returns up to n candidates close to s: sharing a prefix
// (case-insensitive) or within a small edit distance, closest first.
func Suggest(s string, candidates []string, n int) []string {
	type scored struct {
		c string
		d int
	}
	ls := strings.ToLower(s)
	var out []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := suggest.Distance(ls, lc)
		switch {
		case lc == ls:
			d = 0
		case strings.HasPrefix(lc, ls) || strings.HasPrefix(ls, lc):
			d = min(d, 1)
		}
		if d <= max(2, len(s)/3) {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].c < out[j].c
	})
	res := []string{}
	for i := 0; i < len(out) && i < n; i++ {
		res = append(res, out[i].c)
	}
	return res
}
