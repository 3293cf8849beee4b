package main

import (
	"bytes"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/testbin"
)

// runCLI runs hdi in process with the given environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["HOME"]; !ok {
		env["HOME"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = runWithEnv(args, lookup, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestExitCodes runs representative bad inputs of every command and checks
// each ends with the code README's table gives: 2 for what was typed
// wrong (commands, flags, arguments, values, job and query names), 1 for a
// failure, 124 for `runs wait` giving up.
func TestExitCodes(t *testing.T) {
	url := pgtest.NewMigratedDB(t)
	pool := pgtest.Connect(t, url)
	var running int64 // a run still going, for runs wait --timeout
	if err := pool.QueryRow(t.Context(), `INSERT INTO runs (job) VALUES ('going') RETURNING run_id`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	badRange := filepath.Join(dir, "bad-range.yaml")
	job := "name: bad-range\nprovider: {name: databento}\nsource: {dataset: GLBX.MDP3, schema: trades, symbols: [ESH4], start: 2024-01-09, end: 2024-01-08}\n"
	if err := os.WriteFile(badRange, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": url, "HDI_PLUGIN_PATH": testbin.Dir(t), "DATABENTO_API_KEY": "db-abcdefghijklmnopqrstuvwxyz123",
		"DATABENTO_BASE_URL": "http://127.0.0.1:1", "HDI_DATA_DIR": filepath.Join(dir, "data")}
	ok := filepath.Join(dir, "ok.yaml") // a job of the jobs directory
	if err := os.WriteFile(ok, []byte(strings.Replace(job, "end: 2024-01-08", "end: 2024-01-10", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"nosuchcommand"}, exitUsage, "unknown command \"nosuchcommand\"\nRun 'hdi --help' for usage."},
		{[]string{"ingset", "--file", "x"}, exitUsage, `unknown command "ingset" (did you mean "ingest"?)`},
		{[]string{"jobs", "valdate", "--skip-env", "x"}, exitUsage, `unknown command "valdate" for "hdi jobs" (did you mean "validate"?)`},
		{[]string{"--log-level", "loud", "version"}, exitUsage, "not a log level"},
		{[]string{"version", "--nosuchflag"}, exitUsage, "unknown flag: --nosuchflag\nRun 'hdi version --help' for usage."},
		{[]string{"version", "--format", "xml"}, exitUsage, "--format must be text or json"},
		{[]string{"version", "extra"}, exitUsage, "unknown command"},
		{[]string{"version"}, exitOK, ""},
		{[]string{"status", "--format", "xml"}, exitUsage, "--format must be text or json"},
		{[]string{"--database-url", "postgres://hdi@127.0.0.1:1/hdi?connect_timeout=1", "status"}, exitFailure, ""}, // the report says why, on stdout
		{[]string{"config", "show", "--format", "xml"}, exitUsage, "--format must be table or json"},
		{[]string{"migrate"}, exitUsage, "needs a subcommand"},
		{[]string{"migrate", "bogus"}, exitUsage, "bogus"},
		{[]string{"migrate", "up", "extra"}, exitUsage, "extra"},
		{[]string{"migrate", "down", "--to", "abc"}, exitUsage, "--to"},
		{[]string{"migrate", "redo", "extra"}, exitUsage, "extra"},
		{[]string{"migrate", "status", "--format", "xml"}, exitUsage, "xml"},
		{[]string{"migrate", "timescale"}, exitFailure, "TimescaleDB"},
		{[]string{"db", "start", "extra"}, exitUsage, "extra"},
		{[]string{"db", "stop", "extra"}, exitUsage, "extra"},
		{[]string{"db", "status", "--format", "yaml"}, exitUsage, "--format"},
		{[]string{"db", "url", "extra"}, exitUsage, "extra"},
		{[]string{"ingest"}, exitUsage, "give --job NAME|FILE"},
		{[]string{"ingest", "--provider", "databento", "--chunk", "day"}, exitUsage, "--chunk: chunk length \"day\": use 1d"},
		{[]string{"ingest", "--provider", "csv", "prices.csv"}, exitUsage, "unexpected argument \"prices.csv\": ingest takes its input from flags (did you mean --file prices.csv?)"},
		{[]string{"ingest", "--job", "es-nq-trades", "--start", "2024-01-09", "--end", "2024-01-08", "--dry-run"}, exitUsage, `--end: "2024-01-08" is not after --start "2024-01-09"`},
		{[]string{"ingest", "--job", "es-nq-trades", "--start", "2024-13-01", "--dry-run"}, exitUsage, "--start: \"2024-13-01\" is not a real date"},
		{[]string{"ingest", "--job", "es-nq-trades", "--start", "-1000000d", "--dry-run"}, exitUsage, "--start: \"-1000000d\" is before 1970-01-01"},
		{[]string{"ingest", "--job", "es-nq-trades", "--mode", "bogus", "--dry-run"}, exitUsage, "--mode: unknown load mode"},
		{[]string{"ingest", "--job", "es-nq-trades", "--concurrency", "0", "--dry-run"}, exitUsage, "--concurrency must be 1..64, got 0"},
		{[]string{"ingest", "--job", "es-nq-trades", "--param", "nokv", "--dry-run"}, exitUsage, "--param \"nokv\": want KEY=VALUE"},
		{[]string{"ingest", "--job", "es-nq-trades", "--param", "partz=2", "--dry-run"}, exitUsage, "--param partz: unknown parameter"},
		{[]string{"ingest", "--job", "es-nq-trades", "--format", "xml", "--dry-run"}, exitUsage, "--format must be table or json"},
		{[]string{"ingest", "--job", "es-nq-trade", "--dry-run"}, exitUsage, `no job "es-nq-trade"`},
		{[]string{"ingest", "--job", "es-nq-trades", "--queue=Bad Name"}, exitUsage, "is not a queue name"},
		{[]string{"ingest", "--provider", "databento", "--dataset", "bogus", "--schema", "trades", "-s", "ESH4", "--start", "2024-01-02", "--dry-run"}, exitUsage, "--dataset: \"bogus\" is not a Databento dataset code"},
		{[]string{"ingest", "--provider", "csv", "--file", filepath.Join(dir, "nosuch-*.csv"), "--columns", "a:int64", "--dry-run"}, exitUsage, "--file: "},
		{[]string{"ingest", "--job", badRange, "--dry-run"}, exitFailure, badRange + ":3: source.end"},
		{[]string{"ingest", "--job", filepath.Join(dir, "nosuch.yaml"), "--dry-run"}, exitFailure, "no such file"},
		{[]string{"ingest", "--provider", "nosuch", "--file", badRange}, exitFailure, "no hdi-provider-nosuch executable"},
		{[]string{"jobs"}, exitUsage, "needs a subcommand"},
		{[]string{"jobs", "list", "--format", "xml"}, exitUsage, "--format must be table or json"},
		{[]string{"jobs", "show", "nosuch"}, exitUsage, `no job "nosuch"`},
		{[]string{"jobs", "validate"}, exitUsage, "requires at least 1 arg"},
		{[]string{"jobs", "validate", "nosuch", ok}, exitUsage, `no job "nosuch"`},
		{[]string{"jobs", "validate", badRange, ok}, exitFailure, badRange + ":3: source.end"},
		{[]string{"worker", "--concurrency", "0"}, exitUsage, "--concurrency must be 1..64"},
		{[]string{"stream"}, exitUsage, "give --job NAME|FILE of a live job"},
		{[]string{"stream", "--job", "es-nq-trades"}, exitUsage, "is not a live job"},
		{[]string{"stream", "--provider", "databento", "--schema", "trades", "--commit-rows", "0"}, exitUsage, "--commit-rows must be at least 1"},
		{[]string{"stream", "--job", "es-nq-live", "--symbols", "ES.c.0"}, exitUsage, "cannot be combined with --job"},
		{[]string{"tokens"}, exitUsage, "needs a subcommand"},
		{[]string{"tokens", "create"}, exitUsage, "--name \"\": use letters"},
		{[]string{"tokens", "create", "--name", "nb", "--scope", "owner"}, exitUsage, "--scope"},
		{[]string{"tokens", "create", "--name", "nb", "--expires", "soon"}, exitUsage, "--expires"},
		{[]string{"tokens", "list", "--format", "xml"}, exitUsage, "--format must be table or json"},
		{[]string{"tokens", "revoke"}, exitUsage, "accepts 1 arg"},
		{[]string{"audit"}, exitUsage, "needs a subcommand"},
		{[]string{"audit", "list", "--since", "bogus"}, exitUsage, "--since \"bogus\""},
		{[]string{"worker", "--queue", "Bad Name"}, exitUsage, "--queue \"Bad Name\" is not a queue name"},
		{[]string{"worker", "--rescue-after", "bogus"}, exitUsage, "--rescue-after"},
		{[]string{"runs", "list", "--format", "xml"}, exitUsage, "--format must be table or json"},
		{[]string{"runs", "show", "abc"}, exitUsage, "RUN_ID must be a number"},
		{[]string{"runs", "show", "99999"}, exitFailure, "no run 99999"},
		{[]string{"runs", "wait", "99999"}, exitFailure, "no run 99999"},
		{[]string{"runs", "wait", "1", "--timeout", "bogus"}, exitUsage, "--timeout"},
		{[]string{"runs", "wait", strconv.FormatInt(running, 10), "--timeout", "1s"}, 124, "is still running after 1s"},
		{[]string{"runs", "cancel", "abc"}, exitUsage, "RUN_ID must be a number"},
		{[]string{"runs", "cancel", "99999"}, exitFailure, "no run 99999"},
		{[]string{"quarantine", "list", "--run", "abc"}, exitUsage, "--run"},
		{[]string{"quarantine", "show", "abc"}, exitUsage, "ID must be a number"},
		{[]string{"quarantine", "show", "99999"}, exitFailure, "no quarantined row 99999"},
		{[]string{"quarantine", "export"}, exitUsage, "--run is required"},
		{[]string{"quarantine", "retry", "--run", "99999"}, exitFailure, "no run 99999"},
		{[]string{"quarantine", "retry", "--run", "1", "--job", "nosuch"}, exitUsage, `no job "nosuch"`},
		{[]string{"query", "list", "--format", "xml"}, exitUsage, "Run 'hdi query list --help' for usage."},
		{[]string{"query", "nosuch"}, exitUsage, `no query named "nosuch"`},
		{[]string{"query", "bars", "-s", "ES.c.0", "--start", "2024-01-09", "--end", "2024-01-08"}, exitUsage, "--end: \"2024-01-08\" is not after"},
		{[]string{"query", "trades", "-s", "ES.c.0", "--start", "-1000000d", "--end", "today"}, exitUsage, "is before 1970-01-01"},
		{[]string{"query", "tbbo", "--start", "2024-01-08", "--end", "2024-01-09"}, exitUsage, "--symbols (-s): is required"},
		{[]string{"query", "definitions", "-s", "ES.FUT", "--start", "2024-02-30", "--end", "2024-03-01"}, exitUsage, "is not a real date"},
		{[]string{"query", "statistics", "-s", "ES.FUT", "--start", "2024-01-08", "--end", "2024-01-09", "--format", "xml"}, exitUsage, "--format"},
		{[]string{"serve", "--addr", "bogus"}, exitUsage, "--addr"},
		{[]string{"healthcheck", "::bad"}, exitUsage, "want an http(s) URL"},
		{[]string{"healthcheck", "http://127.0.0.1:1/healthz", "--timeout", "1s"}, exitFailure, "127.0.0.1:1"},
		{[]string{"plugins", "list", "extra"}, exitUsage, "extra"},
		{[]string{"plugins", "describe"}, exitUsage, "takes one plugin NAME"},
		{[]string{"plugins", "describe", "nosuch"}, exitFailure, "no hdi-provider-nosuch executable"},
		{[]string{"dbn", "cat"}, exitUsage, "accepts 1 arg"},
		{[]string{"dbn", "cat", "x.dbn", "--format", "xml"}, exitUsage, "--format must be json or csv"},
		{[]string{"dbn", "inspect", "nosuch.dbn"}, exitFailure, "nosuch.dbn"},
		{[]string{"dbn", "synth", "--trades", "-1"}, exitUsage, "--trades must be >= 0"},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := maps.Clone(env)
			env["HDI_JOBS_DIR"] = dir
			code, _, stderr := runCLI(t, env, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.err) {
				t.Errorf("hdi %q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.err)
			}
		})
		for i := range tc.args {
			covered["hdi "+strings.Join(tc.args[:i+1], " ")] = true
		}
	}
	// Every command a user can run has a case.
	for _, c := range allCommands(newRootCmd(&App{})) {
		if p := c.CommandPath(); c.Runnable() && !covered[p] && !strings.HasPrefix(p, "hdi completion") && p != "hdi help" && p != "hdi" {
			t.Errorf("%s has no case in TestExitCodes", p)
		}
	}
}

func TestVersionPrintsVersionCommitAndGo(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.Contains(out, "hdi ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Fatalf("exit %d: %q", code, out)
	}
}

func TestEveryCommandHasAnExample(t *testing.T) {
	root := newRootCmd(&App{})
	var missing []string
	for _, c := range allCommands(root) {
		if c.Runnable() && c.Example == "" {
			missing = append(missing, c.CommandPath())
		}
	}
	if len(missing) > 0 {
		t.Fatalf("commands without an example: %v", missing)
	}
}

func TestMalformedConfigFileNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(p, []byte("log_level: info\nlog_levle: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, "--config", p, "config", "show")
	if code != exitUsage || !strings.Contains(stderr, p+":2: unknown key \"log_levle\"") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestConfigShowSourcesAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("jobs_dir: /file/jobs\nlog_level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HDI_LOG_LEVEL": "error"}
	code, out, stderr := runCLI(t, env, "--config", p, "--jobs-dir", "/flag/jobs", "config", "show")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"jobs_dir", "/flag/jobs", "flag --jobs-dir", "env HDI_LOG_LEVEL", "log_format", "default"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

// TestSecretsNeverPrinted runs commands that touch the database URL and a
// provider key, at debug level, and checks neither secret is printed.
func TestSecretsNeverPrinted(t *testing.T) {
	const pw, key = "Sup3rS3cretPw", "db-APIKEYSECRET0123456789"
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	body := "providers:\n  databento:\n    api_key: " + key + "\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": "postgres://hdi:" + pw + "@127.0.0.1:1/hdi?sslmode=disable"}
	for _, args := range [][]string{
		{"config", "show"},
		{"config", "show", "--format", "json"},
		{"status"},
		{"status", "--format", "json"},
		{"migrate", "up"},
		{"migrate", "status"},
		{"--log-format", "json", "migrate", "up"},
	} {
		all := append([]string{"--config", p, "--log-level", "debug"}, args...)
		_, out, stderr := runCLI(t, env, all...)
		for _, secret := range []string{pw, key} {
			if strings.Contains(out+stderr, secret) {
				t.Errorf("hdi %v printed a secret:\nstdout: %s\nstderr: %s", args, out, stderr)
			}
		}
	}
}

// TestProviderEnvSecretsListed: config show lists the provider settings
// taken from the variables providers declare, secrets masked; status shows
// each plugin's version; neither prints the key.
func TestProviderEnvSecretsListed(t *testing.T) {
	const key = "db-ENVKEYSECRET0123456789"
	env := map[string]string{"DATABENTO_API_KEY": key, "DATABENTO_BASE_URL": "http://127.0.0.1:9", "HDI_PLUGIN_PATH": testbin.Dir(t),
		"DATABASE_URL": "postgres://hdi@127.0.0.1:1/hdi?sslmode=disable"}
	code, out, stderr := runCLI(t, env, "config", "show")
	if code != 0 || !strings.Contains(out, "providers.databento.api_key") || !strings.Contains(out, "env DATABENTO_API_KEY") ||
		!strings.Contains(out, "http://127.0.0.1:9") || strings.Contains(out+stderr, key) {
		t.Errorf("config show: exit %d\n%s%s", code, out, stderr)
	}
	_, out, stderr = runCLI(t, env, "status")
	if !strings.Contains(out, "databento 0.1.0") || strings.Contains(out, "?") || strings.Contains(out+stderr, key) {
		t.Errorf("status must show each plugin's version:\n%s", out)
	}
}

// TestUnreachableDatabaseFailsWithinTheTimeout points hdi at a server that
// accepts connections and never answers: the command must give up and say so.
func TestUnreachableDatabaseFailsWithinTheTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	url := "postgres://hdi@" + ln.Addr().String() + "/hdi?sslmode=disable"
	code, _, stderr := runCLI(t, map[string]string{"DATABASE_URL": url}, "migrate", "up")
	if code != exitFailure || !strings.Contains(stderr, ln.Addr().String()) || !strings.Contains(stderr, "no answer within 5s") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestUnmigratedDatabaseSaysMigrateUp: commands that read hdi's tables on a
// database that is not migrated say the command that fixes it, not a flag
// they do not have (only ingest has --migrate).
func TestUnmigratedDatabaseSaysMigrateUp(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.NewDB(t)}
	for _, args := range [][]string{{"runs", "list"}, {"quarantine", "list"}, {"query", "Runs"}} {
		code, out, stderr := runCLI(t, env, args...)
		if code != 1 || out != "" || !strings.Contains(stderr, "run `hdi migrate up`") || strings.Contains(stderr, "--migrate") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}

// TestUnparsableDatabaseURLNeverPrinted: a database URL that does not
// parse (the inputs of a fault probe, issue 24) keeps its password out of
// config show, status, db status and connection errors, whether it comes
// from the environment or --database-url; config show masks exactly the
// password.
func TestUnparsableDatabaseURLNeverPrinted(t *testing.T) {
	const secret = "SecretPW42" // in every password below
	cases := []struct{ url, shown string }{
		{"postgres://postgres:SuperSecretPW42@127.0.0.1:abc/x", "postgres://postgres:xxxxx@127.0.0.1:abc/x"},
		{"postgres://postgres:Super%zzSecretPW42@127.0.0.1:5432/x", "postgres://postgres:xxxxx@127.0.0.1:5432/x"},
		{"postgres://postgres:SuperSecretPW42@[::1/x", "postgres://postgres:xxxxx@[::1/x"},
		{"host=127.0.0.1 port=abc password=SuperSecretPW42 dbname=x", "host=127.0.0.1 port=abc password=xxxxx dbname=x"},
		{`host=127.0.0.1 password='Super\' SecretPW42' dbname=x`, "host=127.0.0.1 password=xxxxx dbname=x"},
		{"host=127.0.0.1 password=Super SecretPW42 dbname=x", "host=127.0.0.1 password=xxxxx dbname=x"},
		{"postgres://postgres:Super@SecretPW42@127.0.0.1/x", "postgres://postgres:xxxxx@127.0.0.1/x"},
		{"postgres://127.0.0.1/x?password=Super&SecretPW42", "postgres://127.0.0.1/x?password=xxxxx"},
	}
	for _, tc := range cases {
		for _, how := range []string{"env", "flag"} {
			env, pre := map[string]string{}, []string{"--log-level", "debug"}
			if how == "env" {
				env["HDI_DATABASE_URL"] = tc.url
			} else {
				pre = append(pre, "--database-url", tc.url)
			}
			for _, args := range [][]string{
				{"config", "show"}, {"config", "show", "--format", "json"},
				{"status"}, {"status", "--format", "json"},
				{"db", "status"}, {"db", "status", "--format", "json"},
				{"migrate", "up"}, {"--log-format", "json", "migrate", "status"},
			} {
				_, out, stderr := runCLI(t, env, append(pre, args...)...)
				if strings.Contains(out+stderr, secret) {
					t.Errorf("%s %q: hdi %v printed the password:\nstdout: %s\nstderr: %s", how, tc.url, args, out, stderr)
				}
				if args[0] == "config" && !strings.Contains(out, tc.shown) {
					t.Errorf("%s %q: hdi %v does not show %q:\n%s", how, tc.url, args, tc.shown, out)
				}
			}
		}
	}
}

// misspeltKeyFile writes a config file whose databento section misspells
// api_key, and returns it with the one line every command that starts
// providers must stop with.
func misspeltKeyFile(t *testing.T, key string) (path, line string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "hdi.yaml")
	body := "log_level: info\nproviders:\n  databento:\n    base_url: http://127.0.0.1:9\n    api_kee: " + key + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, "hdi: " + path + `:5: unknown key "providers.databento.api_kee" (did you mean "providers.databento.api_key"?); the databento provider takes: api_key, base_url, `
}

// TestMisspeltProviderKeyIsRejected: a misspelt provider key stops every
// command that starts providers or shows their settings, serve included,
// with one line naming the file, the line, the key and the right key, and
// never shows the value; commands that start no plugin go on.
func TestMisspeltProviderKeyIsRejected(t *testing.T) {
	const key = "db-MISSPELT0123456789"
	p, line := misspeltKeyFile(t, key)
	env := map[string]string{"HDI_PLUGIN_PATH": testbin.Dir(t), "DATABASE_URL": "postgres://hdi@127.0.0.1:1/hdi?sslmode=disable"}
	for _, args := range [][]string{
		{"config", "show"}, {"config", "show", "--format", "json"},
		{"status"}, {"status", "--format", "json"},
		{"serve", "--addr", "127.0.0.1:0"},
		{"worker"},
		{"stream", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades", "--symbols", "ES.FUT", "--stype-in", "parent"},
		{"ingest", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades", "--symbols", "ES.FUT", "--start", "2024-01-02", "--end", "2024-01-03"},
		{"jobs", "validate", "nosuchjob"},
		{"plugins", "list"}, {"plugins", "describe", "databento"},
		{"quarantine", "retry", "--run", "1"},
	} {
		code, out, stderr := runCLI(t, env, append([]string{"--config", p}, args...)...)
		if code != exitUsage || out != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, line) || strings.Contains(stderr, key) {
			t.Errorf("hdi %v: exit %d, want %d and one line starting %q\nstdout: %s\nstderr: %s", args, code, exitUsage, line, out, stderr)
		}
	}
	// Commands that start no plugin check the file's own keys only.
	if code, out, stderr := runCLI(t, env, "--config", p, "version"); code != exitOK || strings.Contains(out+stderr, key) {
		t.Errorf("hdi version: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, env, "--config", p, "jobs", "list"); code != exitOK {
		t.Errorf("hdi jobs list: exit %d: %s", code, stderr)
	}
}

// TestProviderSettingsShownOnlyWhenDeclaredPublic: config show prints in
// clear only the provider keys their provider declares not secret; every
// value of a provider that is not installed, or does not start, is masked,
// and does not fail the command.
func TestProviderSettingsShownOnlyWhenDeclaredPublic(t *testing.T) {
	const key, other = "db-SECRETKEY0123456789", "http://other.example:1"
	dir := t.TempDir()
	body := "providers:\n  databento:\n    base_url: http://127.0.0.1:9\n    api_key: " + key + "\n  other:\n    base_url: " + other + "\n"
	good := filepath.Join(dir, "good.yaml")
	broken := filepath.Join(dir, "broken.yaml") // databento's checksum pinned wrong: it does not start
	if err := os.WriteFile(good, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte("plugin_checksums:\n  databento: "+strings.Repeat("0", 64)+"\n"+strings.Replace(body, "api_key", "api_kee", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HDI_PLUGIN_PATH": testbin.Dir(t)}
	for _, tc := range []struct {
		file       string
		clear, not []string
	}{
		{good, []string{"http://127.0.0.1:9"}, []string{key, other}},
		{broken, nil, []string{key, other, "http://127.0.0.1:9"}},
	} {
		for _, format := range []string{"table", "json"} {
			code, out, stderr := runCLI(t, env, "--config", tc.file, "config", "show", "--format", format)
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", tc.file, code, stderr)
			}
			for _, s := range tc.clear {
				if !strings.Contains(out, s) {
					t.Errorf("%s (%s): %q not shown:\n%s", tc.file, format, s, out)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(out+stderr, s) {
					t.Errorf("%s (%s): %q shown:\n%s%s", tc.file, format, s, out, stderr)
				}
			}
			if !strings.Contains(out, "providers.other.base_url") || strings.Count(out, "****") < 2 {
				t.Errorf("%s (%s): the masked keys must be listed:\n%s", tc.file, format, out)
			}
		}
	}
}

// TestProviderCommandsExist: every command named in providerCommands is
// one, so none escapes the check by a rename.
func TestProviderCommandsExist(t *testing.T) {
	paths := map[string]bool{}
	for _, c := range allCommands(newRootCmd(&App{})) {
		paths[c.CommandPath()] = true
	}
	for _, p := range providerCommands {
		if !paths[p] {
			t.Errorf("providerCommands names %q, which is no command", p)
		}
	}
}
