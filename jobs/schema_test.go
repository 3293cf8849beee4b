package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/jobs"
	"github.com/hdi-dev/hdi/plugins/databento/dbprov"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// A tiny JSON Schema checker for the keywords job.schema.json uses: type,
// properties, required, additionalProperties, items, enum, const, pattern,
// minimum, maximum, minLength, minItems, uniqueItems, $ref (#/$defs/...),
// allOf, anyOf, oneOf, not, if/then. Unknown keywords fail the test so the
// schema cannot silently outgrow the checker.
type checker struct {
	root map[string]any
	t    *testing.T
}

var annotations = map[string]bool{"$schema": true, "$id": true, "$comment": true, "title": true, "description": true, "$defs": true}

func (c *checker) check(s map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	for k := range s {
		switch k {
		case "type", "properties", "required", "additionalProperties", "items", "enum", "const", "pattern",
			"minimum", "maximum", "minLength", "minItems", "uniqueItems", "$ref", "allOf", "anyOf", "oneOf", "not", "if", "then":
		default:
			if !annotations[k] {
				c.t.Fatalf("schema keyword %q at %s is not supported by the test checker", k, path)
			}
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, ok := c.root["$defs"].(map[string]any)[name].(map[string]any)
		if !found || !ok {
			c.t.Fatalf("bad $ref %q", ref)
		}
		errs = append(errs, c.check(def, v, path)...)
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		match := false
		for _, ty := range types {
			match = match || typeOK(ty, v)
		}
		if !match {
			fail("expected %s, got %T", strings.Join(types, " or "), v)
			return errs
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || reflect.DeepEqual(x, v)
		}
		if !found {
			fail("%v is not one of the enum", v)
		}
	}
	if cv, ok := s["const"]; ok && !reflect.DeepEqual(cv, v) {
		fail("%v is not %v", v, cv)
	}
	if str, ok := v.(string); ok {
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if m, ok := s["minLength"].(float64); ok && float64(len([]rune(str))) < m {
			fail("shorter than %v", m)
		}
	}
	if n, ok := v.(float64); ok {
		if m, ok := s["minimum"].(float64); ok && n < m {
			fail("%v < minimum %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			fail("%v > maximum %v", n, m)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := obj[r]; !ok {
				fail("missing required %q", r)
			}
		}
		for k, val := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, c.check(ps, val, path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown key %q", k)
				}
			case map[string]any:
				errs = append(errs, c.check(ap, val, path+"."+k)...)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if it, ok := s["items"].(map[string]any); ok {
			for i, x := range arr {
				errs = append(errs, c.check(it, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
		if m, ok := s["minItems"].(float64); ok && float64(len(arr)) < m {
			fail("fewer than %v items", m)
		}
		if u, _ := s["uniqueItems"].(bool); u {
			for i := range arr {
				for j := i + 1; j < len(arr); j++ {
					if reflect.DeepEqual(arr[i], arr[j]) {
						fail("items %d and %d repeat", i, j)
					}
				}
			}
		}
	}
	for _, sub := range asSchemas(s["allOf"]) {
		errs = append(errs, c.check(sub, v, path)...)
	}
	if subs := asSchemas(s["anyOf"]); subs != nil {
		ok := false
		for _, sub := range subs {
			ok = ok || len(c.check(sub, v, path)) == 0
		}
		if !ok {
			fail("matches none of anyOf")
		}
	}
	if subs := asSchemas(s["oneOf"]); subs != nil {
		n := 0
		for _, sub := range subs {
			if len(c.check(sub, v, path)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
	if not, ok := s["not"].(map[string]any); ok && len(c.check(not, v, path)) == 0 {
		fail("matches a forbidden schema (not)")
	}
	if cond, ok := s["if"].(map[string]any); ok && len(c.check(cond, v, path)) == 0 {
		if then, ok := s["then"].(map[string]any); ok {
			errs = append(errs, c.check(then, v, path)...)
		}
	}
	return errs
}

func typeOK(t string, v any) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "null":
		return v == nil
	}
	panic("type " + t)
}

func asList(v any) []string {
	var out []string
	for _, x := range asAny(v) {
		out = append(out, x.(string))
	}
	return out
}

func asAny(v any) []any { l, _ := v.([]any); return l }

func asSchemas(v any) []map[string]any {
	var out []map[string]any
	for _, x := range asAny(v) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// toJSON turns YAML into what an editor's schema check sees, by way of JSON
// (numbers become float64).
func toJSON(t *testing.T, data []byte) any {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadSchema(t *testing.T) *checker {
	var root map[string]any
	if err := json.Unmarshal(jobs.Schema, &root); err != nil {
		t.Fatal(err)
	}
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema is %v", root["$schema"])
	}
	return &checker{root: root, t: t}
}

func TestBuiltinJobsMatchSchema(t *testing.T) {
	c := loadSchema(t)
	ents, _ := fs.ReadDir(jobs.FS, ".")
	for _, e := range ents {
		data, _ := fs.ReadFile(jobs.FS, e.Name())
		if errs := c.check(c.root, toJSON(t, data), e.Name()); len(errs) > 0 {
			t.Errorf("%s", strings.Join(errs, "\n"))
		}
	}
}

const good = `name: t
provider: {name: databento, config: {api_key: x}}
source: {dataset: GLBX.MDP3, schema: trades, symbols: [ES.c.0], stype_in: continuous, start: 2024-01-02}
`

// TestSchemaRejectsWhatTheParserRejects shows the check can fail, and that
// schema and parser agree on each case.
func TestSchemaRejectsWhatTheParserRejects(t *testing.T) {
	c := loadSchema(t)
	opts := jobspec.Options{LookupEnv: func(string) (string, bool) { return "", false }, Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }}
	if errs := c.check(c.root, toJSON(t, []byte(good)), "good"); len(errs) > 0 {
		t.Fatalf("good job rejected: %v", errs)
	}
	if _, err := jobspec.ParseWith("good", []byte(good), opts); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"unknown key":       good + "concurency: 2\n",
		"unknown nested":    good + "target: {table: t, mod: x}\n",
		"bad mode":          good + "target: {mode: upsert}\n",
		"missing name":      strings.Replace(good, "name: t\n", "", 1),
		"bad column":        strings.Replace(good, "schema: trades, ", "schema: trades, columns: [price], ", 1),
		"min without min":   good + "rules: [{type: min, field: p}]\n",
		"min without field": good + "rules: [{type: min, min: 0}]\n",
		"param not taken":   good + "rules: [{type: min, field: p, min: 0, pattern: x}]\n",
		"bad rule type":     good + "rules: [{type: minimum, field: p}]\n",
		"bad severity":      good + "rules: [{type: unique, field: p, severity: fatal}]\n",
		"two sources":       good + "mapping: {columns: [{column: c, from: a, const: b}]}\n",
		"no source":         good + "mapping: {columns: [{column: c}]}\n",
		"bad cast":          good + "mapping: {columns: [{column: c, from: a, cast: float}]}\n",
		"concurrency":       good + "concurrency: 65\n",
		"quarantine":        good + "quarantine: {max_percent: 101}\n",
		"max_cost":          good + "max_cost: -1\n",
		"bad chunk":         good + "chunking: {time: 5 days}\n",
		"wrong type":        good + "default_rules: maybe\n",
	}
	for name, doc := range bad {
		if errs := c.check(c.root, toJSON(t, []byte(doc)), name); len(errs) == 0 {
			t.Errorf("%s: schema accepts it", name)
		}
		if _, err := jobspec.ParseWith(name, []byte(doc), opts); err == nil {
			t.Errorf("%s: parser accepts it", name)
		}
	}
	// What only Databento knows the schema checks for editors, and the
	// provider when it plans: hdi's parser leaves it to the provider.
	provider := map[string]string{
		"bad databento schema": strings.Replace(good, "schema: trades", "schema: ohlcv-5m", 1),
		"bad dataset":          strings.Replace(good, "GLBX.MDP3", "glbx", 1),
		"bad stype":            strings.Replace(good, "stype_in: continuous", "stype_in: symbol", 1),
	}
	for name, doc := range provider {
		if errs := c.check(c.root, toJSON(t, []byte(doc)), name); len(errs) == 0 {
			t.Errorf("%s: schema accepts it", name)
		}
		job, err := jobspec.ParseWith(name, []byte(doc), opts)
		if err != nil {
			t.Fatalf("%s: the parser must leave it to the provider: %v", name, err)
		}
		sj, _, err := job.ProviderJob(jobspec.ProviderJobOptions{Now: opts.Now(), Stream: job.Source.Schema, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dbprov.New().Plan(context.Background(), sj); err == nil || sdk.FieldOf(err) == "" {
			t.Errorf("%s: the provider accepts it, or its error names no field: %v", name, err)
		}
	}
}

// TestSchemaInSyncWithGoTypes checks every key of every job struct is in the
// schema and the other way round, and that the enums match the Go lists.
func TestSchemaInSyncWithGoTypes(t *testing.T) {
	c := loadSchema(t)
	defs := c.root["$defs"].(map[string]any)
	objs := map[string]struct {
		schema map[string]any
		goType any
	}{
		"job":          {c.root, jobspec.Job{}},
		"provider":     {defs["provider"].(map[string]any), jobspec.Provider{}},
		"source":       {defs["source"].(map[string]any), jobspec.Source{}},
		"chunking":     {defs["chunking"].(map[string]any), jobspec.Chunking{}},
		"target":       {defs["target"].(map[string]any), jobspec.Target{}},
		"rule":         {defs["rule"].(map[string]any), jobspec.RuleSpec{}},
		"quarantine":   {defs["quarantine"].(map[string]any), jobspec.Quarantine{}},
		"mapping":      {defs["mapping"].(map[string]any), jobspec.Mapping{}},
		"column":       {defs["column"].(map[string]any), jobspec.ColumnSpec{}},
		"sourceColumn": {defs["sourceColumn"].(map[string]any), jobspec.Column{}},
	}
	for name, o := range objs {
		var schemaKeys []string
		for k, p := range o.schema["properties"].(map[string]any) {
			schemaKeys = append(schemaKeys, k)
			if d, _ := p.(map[string]any)["description"].(string); d == "" && p.(map[string]any)["$ref"] == nil {
				t.Errorf("%s.%s has no description", name, k)
			}
		}
		goKeys := jobspec.KnownKeys(o.goType)
		sort.Strings(schemaKeys)
		sort.Strings(goKeys)
		if !reflect.DeepEqual(schemaKeys, goKeys) {
			t.Errorf("%s: schema keys %v, Go keys %v", name, schemaKeys, goKeys)
		}
		if o.schema["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties is not false", name)
		}
	}
	enum := func(s map[string]any) []string { return asList(s["enum"]) }
	prop := func(def, key string) map[string]any {
		return defs[def].(map[string]any)["properties"].(map[string]any)[key].(map[string]any)
	}
	dbThen := c.root["allOf"].([]any)[0].(map[string]any)["then"].(map[string]any)["properties"].(map[string]any)["source"].(map[string]any)["properties"].(map[string]any)
	// The Databento block is the databento provider's declaration, for
	// editors: its streams and its stype parameters' allowed values.
	desc, err := dbprov.New().Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var streams, stypes []string
	for _, st := range desc.Streams {
		streams = append(streams, st.Name)
	}
	for _, p := range desc.Params {
		if p.Name == "stype_in" {
			stypes = p.Allowed
		}
	}
	sort.Strings(streams)
	schemaStreams := enum(dbThen["schema"].(map[string]any))
	sort.Strings(schemaStreams)
	for _, e := range []struct {
		name      string
		got, want []string
	}{
		{"rule types", enum(prop("rule", "type")), jobspec.RuleTypes},
		{"severities", enum(prop("rule", "severity")), jobspec.Severities},
		{"modes", enum(prop("target", "mode")), jobspec.Modes},
		{"transforms", enum(prop("column", "transform")), jobspec.Transforms},
		{"casts", enum(prop("column", "cast")), jobspec.Casts},
		{"databento schemas", schemaStreams, streams},
		{"databento stype_in", enum(dbThen["stype_in"].(map[string]any)), stypes},
		{"databento stype_out", enum(dbThen["stype_out"].(map[string]any)), stypes},
	} {
		if !reflect.DeepEqual(e.got, e.want) {
			t.Errorf("%s: schema %v, Go %v", e.name, e.got, e.want)
		}
	}
}
