package serve_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query/querytest"
	"github.com/hdi-dev/hdi/internal/serve"
)

// paramErrorTemplates reads the query package's source for every ParamError
// it can build: the constant format of each paramErr or notFound call (the
// only ways to build one), by file and line.
func paramErrorTemplates(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../query/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("the query package's files: %v", err)
	}
	out := map[string]string{} // template -> where
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "ParamError" && filepath.Base(f) != "errors.go" {
					t.Errorf("%s: a ParamError literal: build it with paramErr or notFound", fset.Position(n.Pos()))
				}
			case *ast.CallExpr:
				id, ok := n.Fun.(*ast.Ident)
				if !ok || (id.Name != "paramErr" && id.Name != "notFound") || len(n.Args) < 2 {
					return true
				}
				lit, ok := n.Args[1].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					if _, isParam := n.Args[1].(*ast.Ident); !isParam { // paramErr's and notFound's own bodies pass format on
						t.Errorf("%s: %s with a format that is not a constant", fset.Position(n.Pos()), id.Name)
					}
					return true
				}
				format, _ := strconv.Unquote(lit.Value)
				out[format] = fset.Position(n.Pos()).String()
			}
			return true
		})
	}
	if len(out) < 15 {
		t.Fatalf("found only %d ParamError templates in ../query: did the reading break?", len(out))
	}
	return out
}

// verbRe matches a fmt verb of a template.
var verbRe = regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[vsqdT]`)

// TestNoParamErrorSpellsAFlag: every ParamError the query layer can build,
// caused over HTTP, answers a problem that names parameters as the API
// spells them (dataset=), never as flags (--dataset).
func TestNoParamErrorSpellsAFlag(t *testing.T) {
	url := demoDB(t) // GLBX.MDP3: ES and NQ, March 2024
	if out, err := hdi(url, "ingest", "--provider", "databento", "--file", querytest.SampleDir(t)).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out) // XNAS.ITCH: MSFT; GLBX.MDP3: ESH1
	}
	pool := pgtest.Connect(t, url)
	for _, sql := range []string{
		// ESH1 in both datasets; ES's roll without the June contract's daily
		// bars; NQ's March contract closing at 0 before the roll.
		`INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
		 VALUES ('XNAS.ITCH', 'raw_symbol', 'ESH1', 'instrument_id', '777', '2021-10-04', '2021-10-05', 'test')`,
		`DELETE FROM ohlcv_1d WHERE instrument_id = 1002`,
		`UPDATE ohlcv_1d SET close = 0 WHERE instrument_id = 2001 AND ts = '2024-03-14'`,
	} {
		if _, err := pool.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	ts := newServer(t, url, serve.Options{})
	empty := newServer(t, pgtest.NewMigratedDB(t), serve.Options{})
	const r = "&start=2024-03-11&end=2024-03-22"
	requests := []struct {
		ts   *testServer
		path string
	}{
		{ts, "/api/v1/bars?start=2024-03-11&end=2024-03-22"},
		{ts, "/api/v1/bars?symbols=ES.c.0&end=2024-03-22"},
		{ts, "/api/v1/bars?symbols=ES.c.0&start=2024-13-01&end=2024-03-22"},
		{ts, "/api/v1/bars?symbols=ES.c.0&interval=2x" + r},
		{ts, "/api/v1/bars?symbols=ES.FUT&adjust=ratio" + r},
		{ts, "/api/v1/bars?symbols=ES.c.0&adjust=log" + r},
		{ts, "/api/v1/bars?symbols=ES.c.0&adjust=ratio" + r},
		{ts, "/api/v1/bars?symbols=NQ.c.0&adjust=ratio" + r},
		{ts, "/api/v1/statistics?symbols=ESH4&stat=bogus" + r},
		{ts, "/api/v1/trades?symbols=ESZ9" + r},
		{ts, "/api/v1/trades?symbols=MSFT&dataset=GLBX.MDP3" + r},
		{ts, "/api/v1/trades?symbols=MSFT,ESH4" + r},
		{ts, "/api/v1/trades?symbols=123456" + r},
		{ts, "/api/v1/trades?symbols=ESH1" + r},
		{empty, "/api/v1/trades?symbols=5482" + r},
	}
	// Not reachable over HTTP, and why.
	unreachable := map[string]string{
		"an empty symbol in %q":              "the API splits symbols=, dropping empty items",
		"must be >= 0 (0: no limit), got %d": "the server reads limit= itself",
	}
	var details []string
	for _, rq := range requests {
		code, _, body := rq.ts.get(t, rq.path)
		var p struct{ Detail string }
		if err := json.Unmarshal(body, &p); err != nil || code < 400 || code >= 500 || p.Detail == "" {
			t.Errorf("%s: %d %s: want a 4xx problem", rq.path, code, body)
			continue
		}
		if strings.Contains(string(body), "--") {
			t.Errorf("%s: the problem spells a flag: %s", rq.path, body)
		}
		details = append(details, p.Detail)
	}
	joined := strings.Join(details, "\n")
	for _, want := range []string{"pick one with dataset=", "or ask for adjust=none", "(use adjust=difference)", "name the dataset with dataset="} {
		if !strings.Contains(joined, want) {
			t.Errorf("no problem says %q:\n%s", want, joined)
		}
	}
	// Each template is caused by a request above: its constant text is in a
	// problem's detail.
	for tmpl, where := range paramErrorTemplates(t) {
		if _, ok := unreachable[tmpl]; ok {
			continue
		}
		found := false
		for _, d := range details {
			found = true
			for _, part := range verbRe.Split(tmpl, -1) {
				if !strings.Contains(d, part) {
					found = false
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			t.Errorf("no request causes the ParamError of %s (%q): add one to the table, or to unreachable with why", where, tmpl)
		}
	}
}
