package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/testbin"
)

func runJobs(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := runWithEnv(args, lookup, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func jobsEnv(t *testing.T, dir string) map[string]string {
	return map[string]string{"HOME": t.TempDir(), "XDG_CONFIG_HOME": t.TempDir(), "HDI_JOBS_DIR": dir, "DATABENTO_API_KEY": "db-TOPSECRET",
		"HDI_PLUGIN_PATH": testbin.Dir(t)}
}

const cliGood = `name: mine
provider:
  name: databento
  config:
    api_key: ${DATABENTO_API_KEY}
    timeout: 30s
source:
  dataset: GLBX.MDP3
  schema: trades
  symbols: [ES.c.0]
  stype_in: continuous
  start: 2024-01-02
  end: 2024-01-05
chunking:
  time: 1d
`

func TestJobsList(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(cliGood), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("name: b\nbogus: 1\n"), 0o644)
	env := jobsEnv(t, dir)
	delete(env, "DATABENTO_API_KEY") // list works without the secrets
	code, out, errs := runJobs(t, env, "jobs", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"NAME", "mine", "GLBX.MDP3", "ES.c.0", "2024-01-02..2024-01-05", "es-nq-ohlcv-1d", "<builtin>/es-nq-ohlcv-1d.yaml (built-in)", "broken", "INVALID: " + filepath.Join(dir, "broken.yaml") + ":2:"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runJobs(t, env, "jobs", "list", "--format", "json")
	var rows []jobspec.Summary
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) < 9 {
		t.Fatalf("json: %d %s", code, out)
	}
	if code, _, _ := runJobs(t, env, "jobs", "list", "--format", "xml"); code != 2 {
		t.Errorf("bad format exit %d", code)
	}
}

func TestJobsShow(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(cliGood), 0o644)
	code, out, errs := runJobs(t, jobsEnv(t, dir), "jobs", "show", "mine")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "TOPSECRET") {
		t.Fatalf("secret shown:\n%s", out)
	}
	for _, want := range []string{"api_key: '****'", "timeout: 30s", "concurrency: 2", "mode: dedupe-append",
		"# time range: [2024-01-02T00:00:00Z, 2024-01-06T00:00:00Z) (96h0m0s)", "# chunks: 4 of 1d", "# file: " + filepath.Join(dir, "mine.yaml")} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runJobs(t, jobsEnv(t, dir), "jobs", "show", "es-nq-statistics")
	if code != 0 || !strings.Contains(out, "# file: <builtin>/es-nq-statistics.yaml") || !strings.Contains(out, "stype_in: parent") {
		t.Errorf("builtin show: %d\n%s", code, out)
	}
	if code, _, errs := runJobs(t, jobsEnv(t, dir), "jobs", "show", "nope"); code != exitUsage || !strings.Contains(errs, `no job "nope"`) {
		t.Errorf("missing job: %d %s", code, errs)
	}
	if code, _, _ := runJobs(t, jobsEnv(t, dir), "jobs", "show"); code != 2 {
		t.Errorf("no arg: exit %d", code)
	}
}

func TestJobsValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mine.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte(cliGood), 0o644)
	os.WriteFile(bad, []byte(strings.Replace(cliGood, "schema: trades", "schema: ohlcv-5m\n  symbol: x", 1)), 0o644)
	env := jobsEnv(t, dir)
	code, out, errs := runJobs(t, env, "jobs", "validate", good, "es-nq-trades")
	if code != 0 || out != "ok "+good+"\nok <builtin>/es-nq-trades.yaml\n" || strings.Contains(errs, "level=ERROR") {
		t.Fatalf("valid: %d %q %q", code, out, errs)
	}
	code, out, errs = runJobs(t, env, "jobs", "validate", good, bad)
	if code != 1 || out != "ok "+good+"\n" {
		t.Fatalf("invalid: %d %q", code, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
		if !strings.Contains(l, "level=INFO") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], bad+`:10: source: unknown key "symbol"`) {
		t.Errorf("stderr:\n%s", errs)
	}
	// A variable not set is a warning naming it: validation checks the
	// job, not the machine.
	delete(env, "DATABENTO_API_KEY")
	code, out, errs = runJobs(t, env, "jobs", "validate", good)
	if code != 0 || out != "ok "+good+"\n" || !strings.Contains(errs, good+":5: warning: provider.config.api_key: environment variable DATABENTO_API_KEY is not set") {
		t.Errorf("missing env: %d %s", code, errs)
	}
	if code, _, errs := runJobs(t, env, "jobs", "validate", "--skip-env", good); code != 0 || strings.Contains(errs, "DATABENTO_API_KEY") {
		t.Errorf("--skip-env: %d %s", code, errs)
	}
	if code, _, _ := runJobs(t, env, "jobs", "validate"); code != 2 {
		t.Errorf("no args: exit %d", code)
	}
}

// TestJobsValidatePlans: validate runs the checks a run's plan runs, and
// each problem lands on the job file's line: the provider's params and
// symbols, the rules against the stream, and (a database reachable) the
// mapping against the table.
func TestJobsValidatePlans(t *testing.T) {
	dir := t.TempDir()
	env := jobsEnv(t, dir)
	env["DATABASE_URL"] = pgtest.NewMigratedDB(t)
	for _, tc := range []struct{ change, with, want string }{
		{"  end: 2024-01-05\n", "  end: 2024-01-05\n  params: {partz: 2}\n", `:14: source.params.partz: unknown parameter "partz" (did you mean "parts"?)`},
		{"  stype_in: continuous\n", "", `:10: source.symbols[0]: "ES.c.0" is a continuous symbol: set stype_in to continuous`},
		{"  time: 1d\n", "  time: 1d\nrules:\n  - {type: min, field: prize, min: 0}\n", `field "prize" not in stream trades`},
		{"  time: 1d\n", "  time: 1d\nmapping:\n  drop: [sequence]\n", `mapping: drop: field "sequence" fills column "sequence"`},
		{"  time: 1d\n", "  time: fortnight\n", `:15: chunking.time: chunk length "fortnight"`},
	} {
		file := filepath.Join(dir, "j.yaml")
		os.WriteFile(file, []byte(strings.Replace(cliGood, tc.change, tc.with, 1)), 0o644)
		code, out, errs := runJobs(t, env, "jobs", "validate", file)
		if code != 1 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %s; want %s", tc.with, code, out, errs, tc.want)
		}
	}
}
