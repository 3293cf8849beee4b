package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runJobs(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := runWithEnv(args, lookup, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func jobsEnv(t *testing.T, dir string) map[string]string {
	return map[string]string{"HOME": t.TempDir(), "XDG_CONFIG_HOME": t.TempDir(), "HDI_JOBS_DIR": dir, "DATABENTO_API_KEY": "db-TOPSECRET"}
}

const cliGood = `name: mine
provider:
  name: databento
  config:
    api_key: ${DATABENTO_API_KEY}
    gateway: hist
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
	var rows []jobRow
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
	for _, want := range []string{"api_key: '****'", "gateway: hist", "concurrency: 2", "mode: dedupe-append",
		"# time range: [2024-01-02T00:00:00Z, 2024-01-06T00:00:00Z) (96h0m0s)", "# chunks: 4 of 1d", "# file: " + filepath.Join(dir, "mine.yaml")} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runJobs(t, jobsEnv(t, dir), "jobs", "show", "es-nq-statistics")
	if code != 0 || !strings.Contains(out, "# file: <builtin>/es-nq-statistics.yaml") || !strings.Contains(out, "stype_in: parent") {
		t.Errorf("builtin show: %d\n%s", code, out)
	}
	if code, _, errs := runJobs(t, jobsEnv(t, dir), "jobs", "show", "nope"); code != 1 || !strings.Contains(errs, `no job "nope"`) {
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
	if code != 0 || out != "ok "+good+"\nok <builtin>/es-nq-trades.yaml\n" || errs != "" {
		t.Fatalf("valid: %d %q %q", code, out, errs)
	}
	code, out, errs = runJobs(t, env, "jobs", "validate", good, bad)
	if code != 1 || out != "ok "+good+"\n" {
		t.Fatalf("invalid: %d %q", code, out)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], bad+`:10: source: unknown key "symbol"`) {
		t.Errorf("stderr:\n%s", errs)
	}
	delete(env, "DATABENTO_API_KEY")
	code, _, errs = runJobs(t, env, "jobs", "validate", good)
	if code != 1 || !strings.HasPrefix(errs, good+":5: provider.config.api_key: environment variable DATABENTO_API_KEY is not set") {
		t.Errorf("missing env: %d %s", code, errs)
	}
	if code, _, errs := runJobs(t, env, "jobs", "validate", "--skip-env", good); code != 0 {
		t.Errorf("--skip-env: %d %s", code, errs)
	}
	if code, _, _ := runJobs(t, env, "jobs", "validate"); code != 2 {
		t.Errorf("no args: exit %d", code)
	}
}
