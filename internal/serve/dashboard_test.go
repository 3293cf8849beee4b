package serve_test

// The Grafana dashboard (deploy/grafana/hdi.json) against what /metrics
// really exports. There is no Grafana here: every PromQL query of the
// dashboard is parsed with Prometheus's own parser, and each metric it
// selects, each label it matches or groups by, must be in a scrape of a
// real server over a database with runs, queued jobs, workers and a live
// stream.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	grafana "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/serve"
)

// monitoredDB is the demo database (runs, units, rows loaded) with what
// the other metrics need: a run queued on queue "parked" whose two unit
// jobs no worker serves, one of them held by a worker alive with 3 slots;
// a second worker silent for an hour (5 slots); and a live stream
// "es-live" that reconnected once, committed 250 rows and is 2 s behind
// its source. The rows are written by the statements hdi ingest --queue,
// hdi worker and hdi stream use; the time of River's hand-over and the
// silence are set by hand.
func monitoredDB(t *testing.T) string {
	t.Helper()
	url := demoDB(t)
	a, b := t.TempDir(), t.TempDir()
	for _, args := range [][]string{
		{"dbn", "synth", "--out", a, "--trades", "1000"},
		{"dbn", "synth", "--out", b, "--trades", "2000"},
		{"ingest", "--provider", "databento", "--file", a, "--file", b, "--queue=parked"},
	} {
		if out, err := hdi(url, args...).CombinedOutput(); err != nil {
			t.Fatalf("hdi %v: %v\n%s", args, err, out)
		}
	}
	pool := pgtest.Connect(t, url)
	ctx, q := t.Context(), dbq.New(pool)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []dbq.RegisterWorkerParams{
		{WorkerID: "host-a:101", Host: "host-a", Pid: 101, Queues: []string{"parked"}, Concurrency: 3, Version: "test"},
		{WorkerID: "host-b:202", Host: "host-b", Pid: 202, Queues: []string{"parked"}, Concurrency: 5, Version: "test"},
	} {
		must(q.RegisterWorker(ctx, w))
	}
	_, err := pool.Exec(ctx, `UPDATE workers SET heartbeat_at = now() - interval '1 hour' WHERE worker_id = 'host-b:202'`)
	must(err)
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = ARRAY['host-a:101']
		WHERE id = (SELECT min(id) FROM river_job WHERE queue = 'parked')`)
	must(err)

	name := "es-live"
	run, err := q.CreateLiveRun(ctx, dbq.CreateLiveRunParams{Job: name, Parameters: json.RawMessage(`{}`), Kind: "live", LiveStream: &name})
	must(err)
	dataset, host, pid := "GLBX.MDP3", "host-a", int32(303)
	must(q.StartLiveStream(ctx, dbq.StartLiveStreamParams{Name: name, Provider: "databento", Dataset: &dataset, Streams: []string{"trades"},
		Symbols: []string{"ES.FUT"}, Job: json.RawMessage(`{}`), RunID: &run, Host: &host, Pid: &pid}))
	must(q.StartLivePosition(ctx, dbq.StartLivePositionParams{Name: name, Stream: "trades", TargetTable: "trades"}))
	must(q.CountLiveReconnect(ctx, dbq.CountLiveReconnectParams{Name: name, N: 1}))
	must(q.SetLiveStreamState(ctx, dbq.SetLiveStreamStateParams{State: "streaming", Name: name}))
	ts, src := time.Now().Add(-3*time.Second).UnixNano(), time.Now().Add(-2*time.Second)
	if _, err := q.CommitLivePosition(ctx, dbq.CommitLivePositionParams{TargetTable: "trades", TsNs: &ts, SourceTs: &src, Rows: 250, Name: name, Stream: "trades"}); err != nil {
		t.Fatal(err)
	}
	must(q.HeartbeatLiveStream(ctx, dbq.HeartbeatLiveStreamParams{RowsPerS: 125, Name: name}))
	return url
}

// scrape GETs /metrics and parses it with Prometheus's text parser.
func scrape(t *testing.T, ts *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	res := ts.fetch(t, "/metrics", "Accept", "text/plain")
	if res.status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", res.status, res.body)
	}
	tp := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := tp.TextToMetricFamilies(strings.NewReader(string(res.body)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample is the value of one series, named as name{label="value",...}
// with the labels sorted; NaN when the scrape has no such series.
func sample(fams map[string]*dto.MetricFamily, series string) float64 {
	for name, f := range fams {
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			id := name
			if len(ls) > 0 {
				id += "{" + strings.Join(ls, ",") + "}"
			}
			if id != series {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	return math.NaN()
}

// TestMonitoring: the queue, the workers and the live streams on
// /metrics, and the Grafana dashboard's queries against a scrape.
func TestMonitoring(t *testing.T) {
	url := monitoredDB(t)

	t.Run("queue, workers and streams", func(t *testing.T) {
		fams := scrape(t, newServer(t, url, serve.Options{}))
		for series, want := range map[string]float64{
			`hdi_queue_jobs{kind="hdi.unit",queue="parked",state="available"}`: 1,
			`hdi_queue_jobs{kind="hdi.unit",queue="parked",state="running"}`:   1,
			// host-b is silent for an hour: not alive (default 30 s), its slots not counted.
			`hdi_workers_alive`:                                    1,
			`hdi_worker_slots{state="busy"}`:                       1,
			`hdi_worker_slots{state="idle"}`:                       2,
			`hdi_stream_rows_total{stream="es-live"}`:              250,
			`hdi_stream_rows_per_second{stream="es-live"}`:         125,
			`hdi_stream_reconnects_total{stream="es-live"}`:        1,
			`hdi_stream_gaps_backfilled_total{stream="es-live"}`:   0,
			`hdi_stream_state{state="streaming",stream="es-live"}`: 1,
			`hdi_database_up`:                                      1,
		} {
			if got := sample(fams, series); got != want {
				t.Errorf("%s = %v, want %v", series, got, want)
			}
		}
		if lag := sample(fams, `hdi_stream_lag_seconds{stream="es-live"}`); !(lag >= 2 && lag < 600) {
			t.Errorf("hdi_stream_lag_seconds = %v, want the 2 s behind the source and the test's time since", lag)
		}

		// A worker silent for an hour is alive when the stale time is longer.
		fams = scrape(t, newServer(t, url, serve.Options{WorkerStaleAfter: 2 * time.Hour}))
		for series, want := range map[string]float64{`hdi_workers_alive`: 2, `hdi_worker_slots{state="busy"}`: 1, `hdi_worker_slots{state="idle"}`: 7} {
			if got := sample(fams, series); got != want {
				t.Errorf("with WorkerStaleAfter 2h: %s = %v, want %v", series, got, want)
			}
		}
	})

	t.Run("dashboard queries match the metrics", func(t *testing.T) {
		// A user query that fails inside the database: a 500, so that the
		// 5xx series the error panels select exist.
		dir := t.TempDir()
		broken := "-- name: Broken :many\nSELECT current_setting('hdi.no_such_setting') AS v;\n"
		if err := os.WriteFile(filepath.Join(dir, "broken.sql"), []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		ts := newServer(t, url, serve.Options{}, dir)
		for path, status := range map[string]int{
			"/api/v1/bars?symbols=ES.c.0&interval=1d&start=2024-03-11&end=2024-03-22": http.StatusOK,
			"/api/v1/no-such-endpoint": http.StatusNotFound,
			"/api/v1/queries/Broken":   http.StatusInternalServerError,
		} {
			if got := ts.fetch(t, path).status; got != status {
				t.Fatalf("GET %s: %d, want %d", path, got, status)
			}
		}
		m := exportedSeries(scrape(t, ts))
		d := loadDashboard(t)
		if len(d.queries) < 20 {
			t.Fatalf("found %d queries in hdi.json: the test reads the wrong structure", len(d.queries))
		}
		used := map[string]bool{}
		for _, q := range d.queries {
			names, err := m.check(q.expr, d.vars)
			if err != nil {
				t.Errorf("%s: %s\n\t%v", q.where, q.expr, err)
			}
			for _, n := range names {
				used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
			}
		}
		// Every metric of hdi's own is on the dashboard.
		for name := range m.families {
			if strings.HasPrefix(name, "hdi_") && !used[name] {
				t.Errorf("/metrics exports %s but no panel of deploy/grafana/hdi.json charts it: add one", name)
			}
		}
	})

	t.Run("the check finds wrong queries", func(t *testing.T) {
		ts := newServer(t, url, serve.Options{})
		ts.mustGet(t, "/healthz")
		m := exportedSeries(scrape(t, ts))
		vars := map[string]bool{"stream": true}
		for expr, want := range map[string]string{
			`rate(hdi_no_such_metric_total[5m])`:                          "not exported",
			`hdi_http_request_duration_seconds{route="/healthz"}`:         "not exported",
			`sum by (route) (hdi_runs)`:                                   `"route"`,
			`hdi_runs{table="trades"}`:                                    `"table"`,
			`hdi_worker_slots{state="buzy"}`:                              `"buzy"`,
			`hdi_http_requests_total{status=~"6.."}`:                      `"6.."`,
			`rate(hdi_runs[5m])`:                                          "a gauge",
			`deriv(hdi_http_requests_total[5m])`:                          "a counter",
			`hdi_stream_lag_seconds{stream="$stream"}`:                    "=~",
			`hdi_stream_lag_seconds{stream=~"$nope"}`:                     "$nope",
			`sum(rate(hdi_http_requests_total[$__rate_interval])) by (x)`: `"x"`,
			`{__name__=~"hdi_.*"}`:                                        "by name",
			`hdi_runs +`:                                                  "parse",
		} {
			if _, err := m.check(expr, vars); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want an error about %s", expr, err, want)
			}
		}
		if _, err := m.check(`sum by (le) (rate(hdi_http_request_duration_seconds_bucket{route=~".+"}[$__rate_interval]))`, vars); err != nil {
			t.Errorf("a good query: %v", err)
		}
	})
}

// TestDashboardSchema: hdi.json is a dashboard by Grafana's own schema
// (its foundation SDK, strict: no unknown field, no missing required one,
// no value of the wrong type, for the dashboard and each panel's plugin).
func TestDashboardSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	//lint:ignore SA1019 hdi.json is a classic dashboard (schemaVersion), the model Grafana's file provisioning and import read; dashboardv2 is another format
	var d grafana.Dashboard
	if err := d.UnmarshalJSONStrict(dashboardJSON(t)); err != nil && err.Error() != "" { // none: an empty cog.BuildErrors
		t.Fatalf("deploy/grafana/hdi.json: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("deploy/grafana/hdi.json: %v", err)
	}
	if len(d.Panels) < 20 {
		t.Errorf("hdi.json has %d panels", len(d.Panels))
	}
}

// metricsSeen is what a scrape shows: each series name (a histogram's
// _bucket, _sum and _count), its type, and the values of its labels.
type metricsSeen struct {
	families map[string]bool
	series   map[string]*seriesSeen
}

type seriesSeen struct {
	counter bool // a counter, or a histogram's or summary's _bucket, _sum, _count
	labels  map[string]map[string]bool
}

func exportedSeries(fams map[string]*dto.MetricFamily) *metricsSeen {
	m := &metricsSeen{families: map[string]bool{}, series: map[string]*seriesSeen{}}
	add := func(name string, counter bool, ls []*dto.LabelPair, extra ...string) {
		s := m.series[name]
		if s == nil {
			s = &seriesSeen{counter: counter, labels: map[string]map[string]bool{}}
			m.series[name] = s
		}
		set := func(k, v string) {
			if s.labels[k] == nil {
				s.labels[k] = map[string]bool{}
			}
			s.labels[k][v] = true
		}
		for _, l := range ls {
			set(l.GetName(), l.GetValue())
		}
		for i := 0; i+1 < len(extra); i += 2 {
			set(extra[i], extra[i+1])
		}
	}
	for name, f := range fams {
		m.families[name] = true
		for _, s := range f.Metric {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				for _, b := range s.GetHistogram().GetBucket() {
					add(name+"_bucket", true, s.Label, "le", fmt.Sprint(b.GetUpperBound()))
				}
				add(name+"_bucket", true, s.Label, "le", "+Inf")
				add(name+"_sum", true, s.Label)
				add(name+"_count", true, s.Label)
			case dto.MetricType_SUMMARY:
				for _, q := range s.GetSummary().GetQuantile() {
					add(name, false, s.Label, "quantile", fmt.Sprint(q.GetQuantile()))
				}
				add(name+"_sum", true, s.Label)
				add(name+"_count", true, s.Label)
			default:
				add(name, f.GetType() == dto.MetricType_COUNTER, s.Label)
			}
		}
	}
	return m
}

// grafanaVar is a dashboard variable in a query: $name, ${name},
// ${name:format} or [[name]].
var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// varValue stands for a dashboard variable in a label value: a variable of
// several values is a regular expression, so only =~ and !~ may hold one.
const varValue = "GRAFANA_VARIABLE"

// check parses a dashboard query as Grafana sends it to Prometheus and
// checks it against the scrape: every selector names an exported series,
// every label it matches, groups by or matches on exists on what it
// selects, every value it asks for was seen (a regular expression matches
// one), rate and increase read counters, deriv and delta gauges. It
// returns the series names selected.
func (m *metricsSeen) check(expr string, vars map[string]bool) ([]string, error) {
	var errs []string
	promql := grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		g := grafanaVar.FindStringSubmatch(v)
		name := g[1] + g[2] + g[3]
		switch {
		case slices.Contains([]string{"__rate_interval", "__interval", "__range"}, name):
			return "5m" // Grafana's durations
		case vars[name]:
			return varValue
		}
		errs = append(errs, fmt.Sprintf("$%s is no variable of the dashboard", name))
		return v
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(promql)
	if err != nil {
		return nil, fmt.Errorf("does not parse as PromQL: %v", err)
	}
	var names []string
	// need: each label of ls is on a series read under the nodes (or made
	// by label_replace or label_join there).
	need := func(what string, ls []string, under ...parser.Node) {
		have, known := map[string]bool{}, false
		for _, n := range under {
			parser.Inspect(n, func(n parser.Node, _ []parser.Node) error {
				switch n := n.(type) {
				case *parser.VectorSelector:
					if s := m.series[n.Name]; s != nil {
						known = true
						for l := range s.labels {
							have[l] = true
						}
					}
				case *parser.Call:
					if (n.Func.Name == "label_replace" || n.Func.Name == "label_join") && len(n.Args) > 1 {
						if dst, ok := n.Args[1].(*parser.StringLiteral); ok {
							have[dst.Val] = true
						}
					}
				}
				return nil
			})
		}
		if !known {
			return // it reads no series /metrics has: said at the selector
		}
		for _, l := range ls {
			if !have[l] {
				errs = append(errs, fmt.Sprintf("%s label %q, which no series it reads has", what, l))
			}
		}
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				errs = append(errs, fmt.Sprintf("%s selects no metric by name", n))
				return nil
			}
			names = append(names, n.Name)
			s := m.series[n.Name]
			if s == nil {
				errs = append(errs, fmt.Sprintf("%s is not exported by /metrics", n.Name))
				return nil
			}
			for _, lm := range n.LabelMatchers {
				if lm.Name == model.MetricNameLabel {
					continue
				}
				values, ok := s.labels[lm.Name]
				if !ok {
					errs = append(errs, fmt.Sprintf("%s has no label %q", n.Name, lm.Name))
					continue
				}
				if strings.Contains(lm.Value, varValue) {
					if lm.Type != labels.MatchRegexp && lm.Type != labels.MatchNotRegexp {
						errs = append(errs, fmt.Sprintf("%s: a dashboard variable can hold several values: match it with =~, not %s", n.Name, lm.Type))
					}
					continue
				}
				if lm.Type == labels.MatchEqual || lm.Type == labels.MatchRegexp {
					if seen := slices.Sorted(maps.Keys(values)); !slices.ContainsFunc(seen, lm.Matches) {
						errs = append(errs, fmt.Sprintf("%s{%s%s%q}: no such value in the scrape (it has %q)", n.Name, lm.Name, lm.Type, lm.Value, seen))
					}
				}
			}
		case *parser.AggregateExpr:
			need(fmt.Sprintf("%s groups by", n.Op), n.Grouping, n.Expr)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				need(fmt.Sprintf("%s matches on", n.Op), append(slices.Clone(n.VectorMatching.MatchingLabels), n.VectorMatching.Include...), n.LHS, n.RHS)
			}
		case *parser.Call:
			want := map[string]bool{"rate": true, "irate": true, "increase": true, "resets": true, "deriv": false, "delta": false, "idelta": false, "predict_linear": false}
			counter, typed := want[n.Func.Name]
			if !typed || len(n.Args) == 0 {
				return nil
			}
			parser.Inspect(n.Args[0], func(a parser.Node, _ []parser.Node) error {
				if vs, ok := a.(*parser.VectorSelector); ok {
					if s := m.series[vs.Name]; s != nil && s.counter != counter {
						kind := map[bool]string{true: "a counter", false: "a gauge"}[s.counter]
						errs = append(errs, fmt.Sprintf("%s is %s: %s() is not for it", vs.Name, kind, n.Func.Name))
					}
				}
				return nil
			})
		}
		return nil
	})
	if len(errs) > 0 {
		return names, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return names, nil
}

// dashboard is what the test reads of hdi.json: every query (a panel's
// targets, a variable's label_values) and the variables.
type dashboard struct {
	queries []dashQuery
	vars    map[string]bool
}

type dashQuery struct{ where, expr string }

// labelValues is Grafana's variable query label_values(METRIC, LABEL),
// which asks Prometheus for the values of a label of a series.
var labelValues = regexp.MustCompile(`^label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)$`)

// dashboardJSON is deploy/grafana/hdi.json.
func dashboardJSON(t *testing.T) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "deploy", "grafana", "hdi.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b := dashboardJSON(t)
	var doc struct {
		SchemaVersion int `json:"schemaVersion"`
		UID           string
		Templating    struct {
			List []struct {
				Name, Type string
				// Query: a string, or {"query": ...} from a newer Grafana.
				Query      any
				Datasource map[string]string
			}
		}
		Panels []json.RawMessage
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("hdi.json: %v", err)
	}
	if doc.SchemaVersion < 41 || doc.UID == "" {
		t.Errorf("hdi.json: schemaVersion %d, uid %q: want a current Grafana's (41 and later) and a uid", doc.SchemaVersion, doc.UID)
	}
	d := dashboard{vars: map[string]bool{}}
	hasDatasource := false
	for _, v := range doc.Templating.List {
		d.vars[v.Name] = true
		switch v.Type {
		case "datasource":
			hasDatasource = v.Name == "datasource" && v.Query == "prometheus"
		case "query":
			q, _ := v.Query.(string)
			if o, ok := v.Query.(map[string]any); ok {
				q, _ = o["query"].(string)
			}
			if m := labelValues.FindStringSubmatch(q); m != nil {
				// The values of a label of a metric: the same check as
				// a query that groups by it.
				q = fmt.Sprintf("count by (%s) (%s)", m[2], m[1])
			}
			d.queries = append(d.queries, dashQuery{"variable $" + v.Name, q})
			if v.Datasource["uid"] != "${datasource}" {
				t.Errorf("variable $%s queries %v, want the ${datasource} variable", v.Name, v.Datasource)
			}
		}
	}
	if !hasDatasource {
		t.Errorf("hdi.json has no variable $datasource of type datasource (prometheus)")
	}
	ids := map[float64]string{}
	var walk func(title string, v any)
	walk = func(title string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["title"].(string); ok && v["gridPos"] != nil {
				title = s
				id, _ := v["id"].(float64)
				if other, dup := ids[id]; dup {
					t.Errorf("panels %q and %q have the same id %v", other, title, id)
				}
				ids[id] = title
			}
			if expr, ok := v["expr"].(string); ok {
				d.queries = append(d.queries, dashQuery{fmt.Sprintf("panel %q", title), expr})
				if ds, _ := v["datasource"].(map[string]any); ds["uid"] != "${datasource}" {
					t.Errorf("panel %q: a target queries %v, want the ${datasource} variable", title, v["datasource"])
				}
			}
			for _, c := range v {
				walk(title, c)
			}
		case []any:
			for _, c := range v {
				walk(title, c)
			}
		}
	}
	for _, p := range doc.Panels {
		var v any
		if err := json.Unmarshal(p, &v); err != nil {
			t.Fatal(err)
		}
		walk("", v)
	}
	return d
}
