package jobspec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/jobs"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

var testNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func testOpts(env map[string]string) Options {
	return Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       func() time.Time { return testNow },
	}
}

var secretEnv = map[string]string{"DATABENTO_API_KEY": "db-SECRET123"}

const minimal = `name: t
provider:
  name: databento
  config:
    api_key: ${DATABENTO_API_KEY}
source:
  dataset: GLBX.MDP3
  schema: trades
  symbols: [ES.c.0]
  stype_in: continuous
  start: 2024-01-02
  end: 2024-01-05
`

func TestBuiltinJobsParse(t *testing.T) {
	ents, err := fs.ReadDir(jobs.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		data, _ := fs.ReadFile(jobs.FS, e.Name())
		job, err := ParseWith(e.Name(), data, testOpts(secretEnv))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		n++
		if want := strings.TrimSuffix(e.Name(), ".yaml"); job.Name != want {
			t.Errorf("%s: name %q, want the file name %q", e.Name(), job.Name, want)
		}
		if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=job.schema.json\n") {
			t.Errorf("%s: no schema comment", e.Name())
		}
		for _, rule := range job.Rules {
			if rule.Line == 0 {
				t.Errorf("%s: rule without line", e.Name())
			}
		}
		if len(job.Source.Files) > 0 {
			// A file job reads what is on disk; it has no key and no range.
			continue
		}
		if job.Provider.Config["api_key"] != "db-SECRET123" {
			t.Errorf("%s: api_key not interpolated", e.Name())
		}
		r, _, err := job.TimeRange(testNow)
		if err != nil || (r.IsZero() && !job.IsLive()) { // a live job runs from now
			t.Errorf("%s: range %v %v", e.Name(), r, err)
		}
	}
	if n < 7 {
		t.Errorf("only %d built-in jobs", n)
	}
}

func TestParseMinimalAndDefaults(t *testing.T) {
	job, err := ParseWith("j.yaml", []byte(minimal+"rules:\n  - type: min\n    field: price\n    min: 0\nmapping:\n  columns:\n    - column: venue\n      const: GLBX\n"), testOpts(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	if job.File != "j.yaml" || job.Concurrency != 2 || job.MaxUnits != 10_000 || job.Target.Mode != ModeDedupeAppend || !*job.DefaultRules || !*job.Mapping.Defaults {
		t.Errorf("defaults: %+v", job)
	}
	if job.Source.StypeOut != "" || job.Rules[0].Severity != "error" {
		t.Errorf("defaults: the host fills no provider's defaults: %+v", job.Source)
	}
	if job.Rules[0].Line != 14 || job.Mapping.Columns[0].Line != 19 {
		t.Errorf("lines: rule %d column %d", job.Rules[0].Line, job.Mapping.Columns[0].Line)
	}
	if *job.Rules[0].Min != "0" || *job.Mapping.Columns[0].Const != "GLBX" {
		t.Errorf("values: %+v", job.Rules[0])
	}
}

// TestErrors covers every error class, asserting the exact file:line: prefix.
func TestErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(minimal, old) {
			panic(old)
		}
		return strings.Replace(minimal, old, new, 1)
	}
	cases := []struct {
		name, doc string
		env       map[string]string
		want      string // the whole first line, or a prefix ending in "..."
	}{
		{"empty", "", secretEnv, "j.yaml:1: the file is empty..."},
		{"comment only", "# nothing\n", secretEnv, "j.yaml:1: the file is empty..."},
		{"malformed yaml", "name: t\nsource: [\n", secretEnv, "j.yaml:2: invalid YAML: did not find expected node content"},
		{"bad indentation", "name: t\n  provider: x\n", secretEnv, "j.yaml:2: invalid YAML: mapping values are not allowed in this context"},
		{"tab", "name: t\n\tprovider: x\n", secretEnv, "j.yaml:2: invalid YAML: found a tab character that violates indentation"},
		{"invalid utf8", "name: t\ndescription: \xff\n", secretEnv, "j.yaml:2: the file is not valid UTF-8"},
		{"two documents", minimal + "---\nname: u\n", secretEnv, "j.yaml:13: a job file holds one YAML document; found a second one (---)"},
		{"not a mapping", "- a\n- b\n", secretEnv, "j.yaml:1: the job: expected a mapping (key: value lines), got a list"},
		{"unknown top key", minimal + "concurency: 3\n", secretEnv, `j.yaml:13: the job: unknown key "concurency" (did you mean "concurrency"?); known keys: ...`},
		{"unknown nested key", replace("  schema: trades\n", "  schema: trades\n  symbol: ES\n"), secretEnv, `j.yaml:9: source: unknown key "symbol" (did you mean "symbols"?); known keys: dataset, schema, schemas, symbols, ...`},
		{"unknown rule key", minimal + "rules:\n  - type: min\n    field: price\n    minimum: 0\n", secretEnv, `j.yaml:16: rules[0]: unknown key "minimum"...`},
		{"duplicate key", minimal + "name: u\n", secretEnv, `j.yaml:13: name: key "name" is repeated (first at line 1)`},
		{"wrong type int", minimal + "concurrency: four\n", secretEnv, `j.yaml:13: concurrency: expected an integer, got "four"`},
		{"wrong type float for int", minimal + "concurrency: 2.5\n", secretEnv, `j.yaml:13: concurrency: expected an integer, got 2.5`},
		{"wrong type list", replace("symbols: [ES.c.0]", "symbols: ES.c.0"), secretEnv, `j.yaml:9: source.symbols: expected a list, got "ES.c.0"...`},
		{"wrong type mapping", replace("  schema: trades", "  schema: {a: b}"), secretEnv, `j.yaml:8: source.schema: expected a string, got a mapping`},
		{"wrong type bool", minimal + "default_rules: yes\n", secretEnv, `j.yaml:13: default_rules: expected true or false, got "yes"`},
		{"wrong type number", minimal + "max_cost: lots\n", secretEnv, `j.yaml:13: max_cost: expected a number, got "lots"`},
		{"merge key", minimal + "target: {<<: {mode: replace-range}}\n", secretEnv, `j.yaml:13: target: merge keys (<<) are not supported`},
		{"interpolation outside config", replace("dataset: GLBX.MDP3", "dataset: ${DATASET}"), secretEnv, `j.yaml:7: source.dataset: ${...} interpolation is only allowed in provider.config values (for secrets)`},
		{"missing env", minimal, nil, `j.yaml:5: provider.config.api_key: environment variable DATABENTO_API_KEY is not set (set it, or write ${DATABENTO_API_KEY:-default})`},
		{"bad interpolation", replace("${DATABENTO_API_KEY}", "${DATABENTO API}"), secretEnv, `j.yaml:5: provider.config.api_key: ${DATABENTO API}: "DATABENTO API" is not a variable name (letters, digits, _)`},
		{"unterminated interpolation", replace("${DATABENTO_API_KEY}", "${DATABENTO_API_KEY"), secretEnv, `j.yaml:5: provider.config.api_key: unterminated ${ (write ${NAME} or ${NAME:-default})`},
		{"missing name", strings.Replace(minimal, "name: t\n", "description: x\n", 1), secretEnv, "j.yaml:1: name: is required"},
		{"missing provider name", replace("  name: databento\n", "  config2: x\n"), secretEnv, `j.yaml:3: provider: unknown key "config2"...`},
		{"impossible date", replace("start: 2024-01-02", "start: 2024-02-30"), secretEnv, `j.yaml:11: source.start: "2024-02-30" is not a real date or time (day out of range)`},
		{"end before start", replace("end: 2024-01-05", "end: 2024-01-01"), secretEnv, `j.yaml:12: source.end: "2024-01-01" is not after source.start "2024-01-02" (a date-only end is included...`},
		{"future start", replace("start: 2024-01-02", "start: 2025-07-01"), secretEnv, `j.yaml:11: source.start: "2025-07-01" is in the future (now is 2025-06-15T12:00:00Z)`},
		{"bad relative", replace("start: 2024-01-02", "start: -3q"), secretEnv, `j.yaml:11: source.start: "-3q" unknown unit "q": use h, d, w, mo (or m) or y`},
		{"bad chunk", minimal + "chunking:\n  time: 5 days\n", secretEnv, `j.yaml:14: chunking.time: chunk length "5 days": use 1d, 7d (or 1w), 2w, 1mo, 3mo, 1y, a duration of at least 1m such as 6h, or none`},
		{"chunk as a mapping", minimal + "chunking:\n  time: {days: 1}\n", secretEnv, `j.yaml:14: chunking.time: expected a single value, got a mapping`},
		{"bad column text", replace("  schema: trades\n", "  schema: trades\n  columns: [price]\n"), secretEnv, `j.yaml:9: source.columns[0]: column "price": want NAME:TYPE...`},
		{"bad column type", replace("  schema: trades\n", "  schema: trades\n  columns: [{name: p, type: money}]\n"), secretEnv, `j.yaml:9: source.columns[0]: column "p": unknown type "money"...`},
		{"column declared twice", replace("  schema: trades\n", "  schema: trades\n  columns: [p:int64, p:string]\n"), secretEnv, `j.yaml:9: source.columns[1]: column "p" is declared twice (first source.columns[0])`},
		{"bad rule bound", minimal + "rules:\n  - type: min\n    field: price\n    min: lots\n", secretEnv, `j.yaml:16: rules[0].min: "lots" is not a number`},
		{"bad mode", minimal + "target:\n  mode: upsert\n", secretEnv, `j.yaml:14: target.mode: unknown load mode "upsert"; use dedupe-append or replace-range`},
		{"concurrency zero", minimal + "concurrency: 0\n", secretEnv, `j.yaml:13: concurrency: must be 1..64, got 0`},
		{"concurrency high", minimal + "concurrency: 65\n", secretEnv, `j.yaml:13: concurrency: must be 1..64, got 65`},
		{"negative cost", minimal + "max_cost: -1\n", secretEnv, `j.yaml:13: max_cost: must be >= 0 (USD), got -1`},
		{"max units zero", minimal + "max_units: 0\n", secretEnv, `j.yaml:13: max_units: must be at least 1, got 0`},
		{"bad cron", minimal + "schedule: \"0 6 * *\"\n", secretEnv, `j.yaml:13: schedule: "0 6 * *": expected 5 to 6 fields, found 4: [0 6 * *]; want cron ...`},
		{"unknown zone", minimal + "schedule: \"0 6 * * 1-5\"\ntimezone: Mars/Olympus\n", secretEnv, `j.yaml:14: timezone: unknown time zone "Mars/Olympus": use an IANA name such as UTC, America/New_York or Europe/London`},
		{"zone without schedule", minimal + "timezone: UTC\n", secretEnv, `j.yaml:13: timezone: is only read with schedule:`},
		{"schedule with fixed dates", minimal + "schedule: \"0 6 * * 1-5\"\n", secretEnv, `j.yaml:11: source.start: "2024-01-02" is a fixed date, but the job has a schedule: use a relative range such as start: -1d and end: today, so each run loads new data`},
		{"bad queue", minimal + "queue: Big Jobs\n", secretEnv, `j.yaml:13: queue: "Big Jobs" is not a queue name: use lowercase letters and digits, joined by '-' or '_' (at most 64)`},
		{"quarantine", minimal + "quarantine:\n  max_percent: 101\n", secretEnv, `j.yaml:14: quarantine.max_percent: must be 0..100, got 101`},
		{"unknown rule type", minimal + "rules:\n  - type: mni\n", secretEnv, `j.yaml:14: rules[0].type: unknown rule type "mni" (did you mean "min"?); use one of not_null, min, ...`},
		{"rule without type", minimal + "rules:\n  - field: x\n", secretEnv, `j.yaml:14: rules[0]: type is required; one of not_null, ...`},
		{"min without min", minimal + "rules:\n  - type: min\n    field: price\n", secretEnv, `j.yaml:14: rules[0]: min rules need min`},
		{"min without field", minimal + "rules:\n  - type: min\n    min: 1\n", secretEnv, `j.yaml:14: rules[0]: min rules need field or fields`},
		{"field and fields", minimal + "rules:\n  - type: not_null\n    field: a\n    fields: [b]\n", secretEnv, `j.yaml:16: rules[0].fields: not_null rules take field or fields, not both`},
		{"param not taken", minimal + "rules:\n  - type: min\n    field: price\n    min: 0\n    pattern: x\n", secretEnv, `j.yaml:17: rules[0].pattern: min rules do not take pattern (they take field or fields, min)`},
		{"range inverted", minimal + "rules:\n  - type: range\n    field: p\n    min: 5\n    max: 1\n", secretEnv, `j.yaml:17: rules[0].max: max 1 is below min 5`},
		{"bad regex", minimal + "rules:\n  - type: regex\n    field: s\n    pattern: '[a-'\n", secretEnv, "j.yaml:16: rules[0].pattern: does not compile: error parsing regexp: missing closing ]: `[a-`"},
		{"bad expr", minimal + "rules:\n  - type: expr\n    expr: 'price >'\n", secretEnv, "j.yaml:15: rules[0].expr: does not compile: ..."},
		{"bad severity", minimal + "rules:\n  - type: not_null\n    field: a\n    severity: fatal\n", secretEnv, `j.yaml:16: rules[0].severity: unknown severity "fatal"; use error (quarantine the row) or warn (load it and count it)`},
		{"duplicate rule name", minimal + "rules:\n  - {name: a, type: unique, field: x}\n  - {name: a, type: unique, field: y}\n", secretEnv, `j.yaml:15: rules[1].name: rule name "a" is used twice (first rules[0])`},
		{"column two sources", minimal + "mapping:\n  columns:\n    - column: c\n      from: a\n      const: b\n", secretEnv, `j.yaml:17: mapping.columns[0].const: takes exactly one of from, const or expr, not from and const`},
		{"column no source", minimal + "mapping:\n  columns:\n    - column: c\n", secretEnv, `j.yaml:15: mapping.columns[0]: needs exactly one of from, const or expr`},
		{"bad transform", minimal + "mapping:\n  columns:\n    - {column: c, from: a, transform: decimal}\n", secretEnv, `j.yaml:15: mapping.columns[0].transform: unknown transform "decimal"; use one of fixed_to_decimal, ...`},
		{"bad cast", minimal + "mapping:\n  columns:\n    - {column: c, from: a, cast: float}\n", secretEnv, `j.yaml:15: mapping.columns[0].cast: unknown cast "float"; use one of bigint, ...`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseWith("j.yaml", []byte(c.doc), testOpts(c.env))
			if err == nil {
				t.Fatalf("no error, want %s", c.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T, want Errors", err)
			}
			first := es[0].Error()
			if want, ok := strings.CutSuffix(c.want, "..."); ok {
				if !strings.HasPrefix(first, want) {
					t.Fatalf("\n got %s\nwant %s", first, c.want)
				}
			} else if first != c.want {
				t.Fatalf("\n got %s\nwant %s", first, c.want)
			}
			for _, e := range es {
				if strings.Contains(e.Error(), "\n") {
					t.Errorf("multi-line: %q", e.Error())
				}
				if strings.Contains(e.Error(), "db-SECRET123") {
					t.Errorf("secret leaked: %q", e.Error())
				}
			}
		})
	}
}

func TestSeveralErrorsInLineOrder(t *testing.T) {
	doc := "name: t\nprovider: {name: databento}\nsource:\n  start: 2024-02-30\n  limit: -1\nconcurrency: 99\n"
	_, err := ParseWith("j.yaml", []byte(doc), testOpts(nil))
	got := err.Error()
	want := []string{"j.yaml:4: source.start:", "j.yaml:5: source.limit:", "j.yaml:6: concurrency:"}
	lines := strings.Split(got, "\n")
	for i, w := range want {
		found := false
		for _, l := range lines[i:] {
			if strings.HasPrefix(l, w) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

func TestInterpolation(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": ""}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := map[string]string{
		"${A}":           "x",
		"pre-${A}-post":  "pre-x-post",
		"${B:-dflt}":     "dflt",
		"${EMPTY:-dflt}": "dflt",
		"${EMPTY}":       "",
		"$${A}":          "${A}",
		"a$b":            "a$b",
		"${A}${A}":       "xx",
	}
	for in, want := range cases {
		got, missing, err := interpolate(in, look)
		if err != nil || len(missing) > 0 || got != want {
			t.Errorf("interpolate(%q) = %q %v %v, want %q", in, got, missing, err, want)
		}
	}
	got, missing, err := interpolate("${NOPE}", look)
	if err != nil || got != "${NOPE}" || len(missing) != 1 || missing[0] != "NOPE" {
		t.Errorf("unset: %q %v %v", got, missing, err)
	}
}

func TestKeepUnsetEnv(t *testing.T) {
	opts := testOpts(nil)
	opts.KeepUnsetEnv = true
	job, err := ParseWith("j.yaml", []byte(minimal), opts)
	if err != nil {
		t.Fatal(err)
	}
	// A warning of its own: the key, its line and the variable.
	want := "j.yaml:5: provider.config.api_key: environment variable DATABENTO_API_KEY is not set (set it, or write ${DATABENTO_API_KEY:-default})"
	if job.Provider.Config["api_key"] != "${DATABENTO_API_KEY}" || len(job.UnsetEnv) != 1 || job.UnsetEnv[0].Error() != want {
		t.Errorf("got %q %v", job.Provider.Config["api_key"], job.UnsetEnv)
	}
}

// TestRelativeFilesStartFromTheJobFile: a job file's relative source.files
// are read from the file's directory, whatever the working directory; a
// built-in job's from the jobs directory. Absolute paths stay as written.
func TestRelativeFilesStartFromTheJobFile(t *testing.T) {
	dir := t.TempDir()
	doc := "name: c\nprovider: {name: csv}\nsource:\n  files: [prices/*.csv, /abs/x.csv]\n"
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	job, err := FindWith("", file, testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Source.Files; got[0] != filepath.Join(dir, "prices/*.csv") || got[1] != "/abs/x.csv" {
		t.Errorf("files of %s: %q", file, got)
	}
	job, err = FindWith(dir, "csv-daily-prices", testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Source.Files; job.File != BuiltinPrefix+"csv-daily-prices.yaml" || got[0] != filepath.Join(dir, "prices/*.csv") {
		t.Errorf("built-in %s: files %q, want them under the jobs directory %s", job.File, got, dir)
	}
}

// TestUsageErrors: an unknown job name and a problem with a flag's value
// say so by type (the CLI exits 2 for them); a file's problem does not.
func TestUsageErrors(t *testing.T) {
	_, err := FindWith(t.TempDir(), "es-nq-trade", testOpts(nil))
	var nj *NoJobError
	if !errors.As(err, &nj) || nj.Name != "es-nq-trade" || !strings.Contains(err.Error(), "es-nq-trades") {
		t.Errorf("unknown name: %v", err)
	}
	job, err := ParseWith("j.yaml", []byte(minimal), testOpts(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	job.Source.Start, job.Source.End = "2024-01-05", "2024-01-04"
	if err := job.Validate(testNow); err == nil || FromFlags(err) {
		t.Errorf("a file's range: %v, FromFlags %v", err, FromFlags(err))
	}
	job.Flags = map[string]string{"source.start": "--start", "source.end": "--end"}
	if err := job.Validate(testNow); err == nil || !FromFlags(err) {
		t.Errorf("a flag's range: %v, FromFlags %v", err, FromFlags(err))
	}
	if FromFlags(errors.New("other")) || FromFlags(nil) {
		t.Error("FromFlags of other errors")
	}
}

func TestProviderNeutral(t *testing.T) {
	doc := "name: c\nprovider: {name: csv}\nsource:\n  schema: my-stream\n  files: [data/*.csv]\n  params: {delimiter: ';'}\n"
	job, err := ParseWith("c.yaml", []byte(doc), testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := job.TimeRange(testNow); !r.IsZero() || job.Source.StypeIn != "" {
		t.Errorf("csv job got databento defaults or a range: %+v", job.Source)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for k := 0; k < 10; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("source:\n  symbols: *a9\n")
	_, err := ParseWith("j.yaml", []byte(b.String()), testOpts(nil))
	if err == nil {
		t.Fatal("no error")
	}
}

func TestValidateJobInCode(t *testing.T) {
	j := &Job{Name: "x", Provider: Provider{Name: "csv"}, Source: Source{Limit: -1}}
	err := j.Validate(testNow)
	if err == nil || err.Error() != "source.limit: must be >= 0 (0: no limit)" {
		t.Errorf("got %v", err)
	}
}

func TestFindAndList(t *testing.T) {
	dir := t.TempDir()
	over := strings.Replace(minimal, "name: t", "name: es-nq-trades", 1)
	if err := os.WriteFile(filepath.Join(dir, "es-nq-trades.yaml"), []byte(over), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.yml"), []byte(strings.Replace(minimal, "name: t", "name: other-name", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := testOpts(secretEnv)
	job, err := FindWith(dir, "es-nq-trades", opts)
	if err != nil || job.File != filepath.Join(dir, "es-nq-trades.yaml") {
		t.Fatalf("override: %v %v", job, err)
	}
	job, err = FindWith(dir, "es-nq-tbbo", opts)
	if err != nil || job.File != BuiltinPrefix+"es-nq-tbbo.yaml" {
		t.Fatalf("builtin: %+v %v", job, err)
	}
	job, err = FindWith(dir, "mine", opts)
	if err != nil || job.Name != "other-name" {
		t.Fatalf(".yml: %v", err)
	}
	job, err = FindWith(dir, "other-name", opts)
	if err != nil || job.File != filepath.Join(dir, "mine.yml") {
		t.Fatalf("by name field: %v", err)
	}
	job, err = FindWith(dir, filepath.Join(dir, "mine.yml"), opts)
	if err != nil || job.Name != "other-name" {
		t.Fatalf("path: %v", err)
	}
	if _, err = FindWith(dir, "nope", opts); err == nil || !strings.Contains(err.Error(), `no job "nope"`) || !strings.Contains(err.Error(), "es-nq-trades") {
		t.Fatalf("missing: %v", err)
	}
	if _, err = FindWith(dir, "missing.yaml", opts); err == nil {
		t.Fatal("missing path: no error")
	}
	ents, err := List(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, e := range ents {
		byName[e.Name] = e
	}
	if e := byName["es-nq-trades"]; !e.Overrides || e.Builtin || e.Job == nil {
		t.Errorf("override entry: %+v", e)
	}
	if e := byName["es-nq-tbbo"]; !e.Builtin || e.Err != nil {
		t.Errorf("builtin entry: %+v", e)
	}
	if e := byName["mine"]; e.Builtin || e.Err != nil {
		t.Errorf("own entry: %+v", e)
	}
	// The repository's jobs directory holds the built-ins themselves.
	ents, err = List("../../jobs", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Builtin || e.Overrides {
			t.Errorf("repo jobs dir: %+v", e)
		}
	}
}

// TestTypedValues: chunk lengths, columns and rule bounds are parsed once,
// by the contract's own parsers, into typed values.
func TestTypedValues(t *testing.T) {
	doc := minimal + "chunking:\n  time: 14d\nrules:\n  - {type: range, field: price, min: 5100.25, max: 1e4}\n"
	doc = strings.Replace(doc, "  schema: trades\n", "  schema: trades\n  columns: [ts:timestamp(unix_ms), 'px:numeric(4)!', {name: qty, type: int64, nullable: false}]\n", 1)
	job, err := ParseWith("j.yaml", []byte(doc), testOpts(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	if got := job.Chunking.Time.String(); got != "2w" {
		t.Errorf("chunk %q, want 2w", got)
	}
	var cols []string
	for _, c := range job.Source.Columns {
		sc, err := c.SDK()
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, sc.String())
	}
	if got := strings.Join(cols, ","); got != "ts:timestamp(unix_ms),px:numeric(4)!,qty:int64!" {
		t.Errorf("columns %s", got)
	}
	r := job.Rules[0]
	if *r.Min != "5100.25" || r.Min.Rat().FloatString(2) != "5100.25" || r.Max.Rat().FloatString(0) != "10000" {
		t.Errorf("bounds %s %s", *r.Min, *r.Max)
	}
}

// TestErrorsNameWhatTheUserTyped: an error about a key set by a flag names
// the flag; a provider's field error lands on the job file's key and line.
func TestErrorsNameWhatTheUserTyped(t *testing.T) {
	job, err := ParseWith("j.yaml", []byte(minimal), testOpts(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	if got := job.ProviderError(sdk.FieldError("stype_in", "%q is not a symbology type", "x")).Error(); got != `j.yaml:10: source.stype_in: "x" is not a symbology type` {
		t.Errorf("file: %s", got)
	}
	if got := job.ProviderError(sdk.FieldError("symbols[0]", "bad")).Error(); got != `j.yaml:9: source.symbols[0]: bad` {
		t.Errorf("indexed: %s", got)
	}
	job.Flags = map[string]string{"source.stype_in": "--stype-in", "source.params.parts": "--param parts"}
	if got := job.ProviderError(sdk.FieldError("stype_in", "bad")).Error(); got != "--stype-in: bad" {
		t.Errorf("flag: %s", got)
	}
	if got := job.ProviderError(sdk.FieldError("params.parts", "bad")).Error(); got != "--param parts: bad" {
		t.Errorf("param flag: %s", got)
	}
	if got := job.ProviderError(sdk.FieldError("config.base_url", "bad")).Error(); got != "providers.databento.base_url: bad" {
		t.Errorf("config from hdi's config: %s", got)
	}
	plain := errors.New("no field")
	if got := job.ProviderError(plain); got != plain {
		t.Errorf("a plain error changed: %v", got)
	}
	job.Flags = map[string]string{"source.start": "--start"}
	job.Source.Start = "2024-02-30"
	err = job.Validate(testNow)
	if err == nil || err.Error() != `--start: "2024-02-30" is not a real date or time (day out of range)` {
		t.Errorf("validate with a flag: %v", err)
	}
}

// TestUnitCapError: a plan refused for its size is one line at the chunk
// key (or flag) that proposes the chunk length that fits, and names the
// cap as the user would raise it.
func TestUnitCapError(t *testing.T) {
	job, err := ParseWith("j.yaml", []byte(minimal+"chunking:\n  time: 1h\n"), testOpts(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	hour, _ := timerange.ParseChunk("1h")
	decades := &sdk.Job{Start: time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), End: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).UnixNano(),
		Chunking: sdk.Chunking{Length: hour}, MaxUnits: 10_000}
	tm := &sdk.TooManyUnits{Units: 490_176, UnitsPerChunk: 1, Chunk: hour}
	for _, tc := range []struct {
		flags map[string]string
		sj    func(sdk.Job) sdk.Job
		tm    sdk.TooManyUnits
		want  string
	}{
		{nil, nil, *tm, "j.yaml:14: chunking.time: 1h makes 490176 units, more than max_units 10000 allows: use chunking.time: 1w (2919 units), or raise max_units"},
		{map[string]string{"chunking.time": "--chunk", "max_units": "--max-units"}, nil, *tm,
			"--chunk: 1h makes 490176 units, more than --max-units 10000 allows: use --chunk 1w (2919 units), or raise --max-units"},
		{nil, func(j sdk.Job) sdk.Job { j.Chunking = sdk.Chunking{}; return j }, sdk.TooManyUnits{Units: 20_424, UnitsPerChunk: 1, Chunk: timerange.None},
			"j.yaml:14: chunking.time: the provider's default chunk length (none) makes 20424 units, more than max_units 10000 allows: use chunking.time: 1w (2919 units), or raise max_units"},
		{nil, nil, sdk.TooManyUnits{Units: 2e8, UnitsPerChunk: 20_000, Chunk: hour},
			"j.yaml:14: chunking.time: 1h makes 200000000 units, more than max_units 10000 allows: even chunking.time: none makes 20000: narrow the symbols, or raise max_units"},
		{nil, func(j sdk.Job) sdk.Job { j.Start, j.End = 0, 0; return j }, sdk.TooManyUnits{Units: 12_000},
			"j.yaml:1: max_units: the plan has 12000 units, more than 10000: narrow the job (fewer files or symbols), or raise max_units"},
	} {
		job.Flags = tc.flags
		sj := *decades
		if tc.sj != nil {
			sj = tc.sj(sj)
		}
		if got := job.UnitCapError(&tc.tm, &sj).Error(); got != tc.want {
			t.Errorf("\n got %s\nwant %s", got, tc.want)
		}
	}
}

// TestProviderJob: the one conversion of a job into the provider's.
func TestProviderJob(t *testing.T) {
	job, err := ParseWith("j.yaml", []byte(minimal+"chunking:\n  time: 1mo\ntarget:\n  mode: replace-range\n"), testOpts(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	sj, warns, err := job.ProviderJob(ProviderJobOptions{Now: testNow, Config: map[string]string{"k": "v"}, Stream: "trades"})
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	if sj.Stream != "trades" || sj.Dataset != "GLBX.MDP3" || sj.Chunking.Length.String() != "1mo" || !sj.Replace || sj.Config["k"] != "v" {
		t.Errorf("job %+v", sj)
	}
	if sj.Start != time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC).UnixNano() || sj.End != time.Date(2024, 1, 6, 0, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("range %d..%d: the date-only end must be included", sj.Start, sj.End)
	}
	if sj.MaxUnits != DefaultMaxUnits {
		t.Errorf("max units %d, want the default", sj.MaxUnits)
	}
	job.Source.Start, job.Source.End = "1970-01-01", "1970-01-01"
	if sj, _, err := job.ProviderJob(ProviderJobOptions{Now: testNow}); err != nil || sj.Start != 0 || sj.End != int64(24*time.Hour) {
		t.Errorf("the epoch's day: %d..%d, %v", sj.Start, sj.End, err)
	}
	tableCols := []sdk.Column{{Name: "x", Type: sdk.ColumnInt64}}
	if sj, _, _ := job.ProviderJob(ProviderJobOptions{Now: testNow, Columns: tableCols}); len(sj.Columns) != 1 {
		t.Errorf("table columns not used when the job declares none: %+v", sj.Columns)
	}
}
