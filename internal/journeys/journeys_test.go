// Package journeys runs hdi the way its docs tell users to: every shell
// example of README.md, docs/*.md and jobs/README.md, every Examples line of
// every command's --help, and every job of jobs/, in a throwaway workspace
// against a throwaway database and the fake Databento API. The examples are
// extracted mechanically, so the docs cannot drift from the product.
//
// A fenced block (```sh, ```bash, ```shell) is run line by line, in order;
// a line ending in \ continues, a heredoc runs with its body, and `export`
// lines hold for the rest of their block. An HTML comment just above a
// fence sets how its block runs:
//
//	<!-- journey: skip REASON -->  listed as skipped, with the reason
//	<!-- journey: exit N -->       each line must exit N (default 0)
//	<!-- journey: local -->        no DATABASE_URL: hdi's own local cluster
//	<!-- journey: script -->       the block as one bash script, stopped
//	                               (and failed) by its first failing command
//
// Lines of an indented block or of ```text are not run: use them for
// synopses (hdi query NAME [--param k=v ...]).
package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query/querytest"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

func TestMain(m *testing.M) { pgtest.Main(m, testbin.NoLeftovers) }

// example is one command line a doc or a --help shows.
type example struct {
	where string // README.md:42, or "hdi ingest --help"
	cmd   string
	env   []string // exports of the block so far
	skip  string   // why it cannot run here
	exit  int      // the exit code it must end with
	local bool     // run against hdi's local cluster (no DATABASE_URL)
	fresh bool     // run against a database of its own, migrated (migrate down...)
	// script runs the whole block as one bash script (variables, jobs
	// started with &); what it leaves running is killed when it ends.
	script bool
	// stopAfter, for a command that runs until stopped, is when it gets
	// SIGTERM.
	stopAfter time.Duration
}

// docs lists the documents whose examples run, in the order they run: the
// README's quick start loads the data the later pages query.
var docs = []string{"README.md", "docs/queries.md", "jobs/README.md", "docs/providers.md", "docs/schema.md", "docs/migrating.md", "docs/SCALING.md", "docs/api.md", "docs/BENCHMARKS.md"}

var (
	fenceRe   = regexp.MustCompile("^```\\s*([A-Za-z]*)\\s*$")
	journeyRe = regexp.MustCompile(`^<!--\s*journey:\s*(skip|exit|local|script)\b\s*(.*?)\s*-->$`)
	heredocRe = regexp.MustCompile(`<<-?\s*'?"?([A-Za-z_]+)'?"?`)
	// exitNoteRe reads the exit code a --help example's comment gives:
	// "hdi migrate timescale   # ... (exit 1)".
	exitNoteRe = regexp.MustCompile(`#.*\(exit (\d+)\)\s*$`)
	// untilNoteRe marks a --help example that runs until stopped ("hdi
	// worker   # ... (until SIGTERM)"): it runs a few seconds, then gets
	// SIGTERM and must exit 0.
	untilNoteRe = regexp.MustCompile(`#.*\(until SIGTERM\)\s*$`)
)

// markdownExamples extracts the shell examples of one markdown file.
func markdownExamples(t *testing.T, root, name string) []example {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	lines := strings.Split(string(b), "\n")
	var out []example
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		lang := m[1]
		var note example
		for k := i - 1; k >= 0 && k >= i-3; k-- {
			if a := journeyRe.FindStringSubmatch(strings.TrimSpace(lines[k])); a != nil {
				switch a[1] {
				case "skip":
					note.skip = a[2]
				case "exit":
					note.exit, _ = strconv.Atoi(a[2])
				case "local":
					note.local = true
				case "script":
					note.script = true
				}
			}
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if (lang == "sh" || lang == "bash" || lang == "shell") && note.script {
			// One script: its commands share variables and background jobs.
			ex := note
			ex.where, ex.cmd = fmt.Sprintf("%s:%d", name, i+2), strings.Join(lines[i+1:end], "\n")
			out = append(out, ex)
		} else if lang == "sh" || lang == "bash" || lang == "shell" {
			var exports []string
			for _, c := range commands(lines[i+1 : end]) {
				if strings.HasPrefix(c.text, "export ") {
					exports = append(exports, strings.TrimPrefix(c.text, "export "))
					continue
				}
				ex := note
				ex.where, ex.cmd, ex.env = fmt.Sprintf("%s:%d", name, i+2+c.line), c.text, append([]string(nil), exports...)
				out = append(out, ex)
			}
		}
		i = end
	}
	return out
}

type command struct {
	line int // 0-based within the block
	text string
}

// commands joins continued lines and heredocs, and drops comments and
// blank lines.
func commands(lines []string) []command {
	var out []command
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \t")
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		start := i
		text := l
		for i+1 < len(lines) {
			switch {
			case strings.HasSuffix(text, "\\"):
				i++
				text = strings.TrimSuffix(text, "\\") + " " + strings.TrimSpace(lines[i])
				continue
			case openQuote(text):
				i++
				text += "\n" + lines[i]
				continue
			}
			break
		}
		if m := heredocRe.FindStringSubmatch(text); m != nil && strings.Contains(text, "<<") {
			for i+1 < len(lines) {
				i++
				text += "\n" + lines[i]
				if strings.TrimSpace(lines[i]) == m[1] {
					break
				}
			}
		}
		out = append(out, command{line: start, text: strings.TrimSpace(text)})
	}
	return out
}

// openQuote reports a shell line whose single or double quote is not
// closed yet: the command goes on on the next line.
func openQuote(s string) bool {
	var q rune
	for i, r := range s {
		switch {
		case q == 0 && (r == '\'' || r == '"'):
			q = r
		case q == r && (r == '\'' || i == 0 || s[i-1] != '\\'):
			q = 0
		case q == 0 && r == '#' && (i == 0 || s[i-1] == ' '):
			return false // a comment
		}
	}
	return q != 0
}

// helpExamples extracts the Examples of every command's --help, walking the
// command tree from `hdi --help`.
func helpExamples(t *testing.T, hdi string, env []string) []example {
	t.Helper()
	var out []example
	var walk func(path []string)
	walk = func(path []string) {
		args := append(append([]string{}, path...), "--help")
		c := exec.Command(hdi, args...)
		c.Env = env
		b, err := c.Output()
		if err != nil {
			t.Fatalf("hdi %s: %v", strings.Join(args, " "), err)
		}
		section := ""
		var exLines []string
		var subs []string
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " "):
				section = strings.TrimSuffix(l, ":")
				continue
			case l == "":
				if section == "Examples" {
					exLines = append(exLines, "")
				}
				continue
			}
			switch section {
			case "Examples":
				exLines = append(exLines, l)
			case "Available Commands":
				if f := strings.Fields(l); len(f) > 0 && f[0] != "help" && f[0] != "completion" {
					subs = append(subs, f[0])
				}
			}
		}
		where := "hdi " + strings.Join(append(append([]string{}, path...), "--help"), " ")
		for _, c := range commands(exLines) {
			ex := example{where: where, cmd: c.text, fresh: len(path) > 0 && path[0] == "migrate"}
			if m := exitNoteRe.FindStringSubmatch(c.text); m != nil {
				ex.exit, _ = strconv.Atoi(m[1])
			}
			if untilNoteRe.MatchString(c.text) {
				ex.stopAfter = 3 * time.Second
			}
			out = append(out, ex)
		}
		for _, s := range subs {
			walk(append(append([]string{}, path...), s))
		}
	}
	walk(nil)
	return out
}

// workspace is where the journey runs: a directory the way a user has one,
// the binaries on PATH, a database and the fake API.
type workspace struct {
	dir, data string
	hdi       string   // the hdi binary
	env       []string // DATABASE_URL included
	local     []string // without DATABASE_URL: the local cluster under data
	srv       *dbfake.Server
}

func newWorkspace(t *testing.T, root string) *workspace {
	t.Helper()
	bin := testbin.Dir(t)
	dir, err := os.MkdirTemp("", "hdi-journey-")
	if err != nil {
		t.Fatal(err)
	}
	// The local cluster's server runs as the postgres user when tests run
	// as root: it must be able to reach the workspace.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ws := &workspace{dir: dir, data: filepath.Join(dir, "hdi-data"), hdi: filepath.Join(bin, "hdi")}
	t.Cleanup(func() {
		stop := exec.Command(ws.hdi, "db", "stop")
		stop.Env, stop.Dir = ws.local, dir
		_ = stop.Run()
		_ = os.RemoveAll(dir)
	})
	// The jobs directory of a checkout, as the docs' paths (jobs/...)
	// expect: the jobs and the data they ship (jobs/prices/).
	if err := copyDir(filepath.Join(root, "jobs"), filepath.Join(dir, "jobs")); err != nil {
		t.Fatal(err)
	}
	ws.srv = dbfake.New(
		dbfake.Generate(dbfake.GenOptions{Days: 14, PerDay: 24, Futures: []string{"ES", "NQ"}, Equities: []string{"AAPL"}}),
		dbfake.Generate(dbfake.GenOptions{Dataset: "XNAS.ITCH", Days: 14, PerDay: 24, Futures: []string{}, Equities: []string{"AAPL", "MSFT"}}),
	)
	t.Cleanup(ws.srv.Close)
	// The Live gateway, with a live source: a trade and a 1m bar of each
	// ES and NQ contract every 100 ms, stamped now.
	gw, err := dbfake.NewLive(dbfake.Generate(dbfake.GenOptions{Schemas: []dbn.Schema{}, Futures: []string{"ES", "NQ"}, Equities: []string{}}),
		dbfake.LiveOptions{Key: ws.srv.Key, Heartbeat: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	feed, stopFeed := context.WithCancel(context.Background())
	t.Cleanup(stopFeed)
	go gw.Run(feed, 100*time.Millisecond, dbn.SchemaTrades, dbn.SchemaOhlcv1M)
	base := []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"HDI_DATA_DIR=" + ws.data,
		"DATABENTO_BASE_URL=" + ws.srv.URL,
		"DATABENTO_API_KEY=" + ws.srv.Key,
		"DATABENTO_LIVE_GATEWAY=" + gw.Addr(),
		"TZ=UTC", "LANG=C.UTF-8",
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PGHOST") || strings.HasPrefix(kv, "TMPDIR=") || strings.HasPrefix(kv, "GO") {
			base = append(base, kv)
		}
	}
	ws.local = base
	ws.env = append(append([]string{}, base...), "DATABASE_URL="+pgtest.NewDB(t))
	return ws
}

// copyDir copies the files of a directory tree but its Go code.
func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, strings.TrimPrefix(p, from))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// run runs one command line with bash in the workspace.
func (ws *workspace) run(t *testing.T, env []string, cmdline string) (int, string, string) {
	t.Helper()
	return ws.runStopped(t, env, cmdline, 0)
}

// runStopped is run for a command that runs until stopped: after
// stopAfter (when > 0) its process group gets SIGTERM.
func (ws *workspace) runStopped(t *testing.T, env []string, cmdline string, stopAfter time.Duration) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// -e: a script stops at its first failing command, which fails it.
	c := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", cmdline)
	c.Dir, c.Env = ws.dir, env
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	// Its own process group, ended with it: a script's background jobs
	// (hdi worker &) must not outlive it.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.WaitDelay = 3 * time.Second
	err := c.Start()
	if err == nil {
		if stopAfter > 0 {
			timer := time.AfterFunc(stopAfter, func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM) })
			defer timer.Stop()
		}
		err = c.Wait()
	}
	if c.Process != nil {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	code := c.ProcessState.ExitCode()
	if err != nil && code == 0 {
		code = -1
	}
	return code, out.String(), errb.String()
}

// check runs an example and checks how it ended.
func (ws *workspace) check(t *testing.T, ex example) {
	t.Helper()
	if ex.skip != "" {
		t.Skipf("not run here: %s", ex.skip)
	}
	env := ws.env
	switch {
	case ex.local:
		env = ws.local
	case ex.fresh:
		env = append(append([]string{}, ws.local...), "DATABASE_URL="+pgtest.NewDB(t))
		if code, out, errs := ws.run(t, env, "hdi migrate up"); code != 0 {
			t.Fatalf("migrate a fresh database: %s%s", out, errs)
		}
	}
	env = append(append([]string{}, env...), ex.env...)
	code, stdout, stderr := ws.runStopped(t, env, ex.cmd, ex.stopAfter)
	if code != ex.exit {
		t.Fatalf("%s\n$ %s\nexit %d, want %d\nstdout:\n%.3000s\nstderr:\n%.3000s", ex.where, ex.cmd, code, ex.exit, stdout, stderr)
	}
	for _, bad := range []string{"panic:", "goroutine ", ws.srv.Key} {
		if strings.Contains(stdout+stderr, bad) {
			t.Fatalf("%s\n$ %s\nprinted %q:\nstdout:\n%.3000s\nstderr:\n%.3000s", ex.where, ex.cmd, bad, stdout, stderr)
		}
	}
}

// TestJourneys runs every documented example, then every job of jobs/.
func TestJourneys(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ws := newWorkspace(t, root)
	// The docs must hold on a database like a user's: more than one dataset
	// (Databento's samples: GLBX.MDP3 in 2020, XNAS.ITCH in 2021), years of
	// data, nothing where a page first looks. Loaded before any example.
	if code, stdout, stderr := ws.run(t, ws.env, "hdi ingest --migrate --provider databento --file "+querytest.SampleDir(t)); code != 0 {
		t.Fatalf("load the sample files: exit %d\n%s%s", code, stdout, stderr)
	}
	var all []example
	for _, d := range docs {
		all = append(all, markdownExamples(t, root, d)...)
	}
	all = append(all, helpExamples(t, ws.hdi, ws.env)...)
	jobs := jobFiles(t, root)
	t.Run("jobs validate on a fresh clone", func(t *testing.T) { ws.validateFresh(t, jobs) })
	ran, skipped := 0, map[string]int{}
	for i, ex := range all {
		name := fmt.Sprintf("%03d %s", i, ex.where)
		t.Run(name, func(t *testing.T) { ws.check(t, ex) })
		if ex.skip != "" {
			skipped[ex.skip]++
		} else {
			ran++
		}
	}
	for _, j := range jobs {
		t.Run("job "+j, func(t *testing.T) { ws.runJob(t, j) })
	}
	var reasons []string
	for r, n := range skipped {
		reasons = append(reasons, fmt.Sprintf("%d: %s", n, r))
	}
	sort.Strings(reasons)
	t.Logf("journeys: %d examples run, %d skipped (%s); %d jobs planned and run", ran, len(all)-ran, strings.Join(reasons, "; "), len(jobs))
	if ran < 60 {
		t.Errorf("only %d examples ran: did the extraction break?", ran)
	}
}

func jobFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "jobs", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no jobs: %v", err)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	return out
}

// validateFresh validates every shipped job as on a fresh clone: no API
// key, no database. Each is valid, and each that needs the key says so in
// a warning that names the variable.
func (ws *workspace) validateFresh(t *testing.T, jobs []string) {
	var env []string
	for _, kv := range ws.local {
		if !strings.HasPrefix(kv, "DATABENTO_API_KEY=") && !strings.HasPrefix(kv, "HDI_DATA_DIR=") {
			env = append(env, kv)
		}
	}
	env = append(env, "HDI_DATA_DIR="+filepath.Join(ws.dir, "fresh-clone-data")) // no local cluster
	keyed := 0
	for _, j := range jobs {
		b, err := os.ReadFile(filepath.Join(ws.dir, "jobs", j+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "${DATABENTO_API_KEY}") {
			keyed++
		}
	}
	code, stdout, stderr := ws.run(t, env, "hdi jobs validate jobs/*.yaml")
	const warning = ": warning: provider.config.api_key: environment variable DATABENTO_API_KEY is not set"
	if code != 0 || strings.Count(stdout, "ok jobs/") != len(jobs) || keyed == 0 || strings.Count(stderr, warning) != keyed {
		t.Fatalf("hdi jobs validate jobs/*.yaml without DATABENTO_API_KEY: exit %d, want 0, %d jobs ok and %d warnings naming the variable\nstdout:\n%s\nstderr:\n%s", code, len(jobs), keyed, stdout, stderr)
	}
}

// runJob validates a shipped job, plans its whole range (a dry run, by its
// name, as a user types it), runs it over a short range where the fake API
// has data (a file job: its files), and runs it again: the second run must
// skip every unit, and the job's table must hold rows.
func (ws *workspace) runJob(t *testing.T, name string) {
	file := filepath.Join("jobs", name+".yaml")
	ws.check(t, example{where: "job " + name, cmd: "hdi jobs validate " + file})
	if b, _ := os.ReadFile(filepath.Join(ws.dir, file)); strings.Contains(string(b), "\nmode: live") {
		ws.runLiveJob(t, name)
		return
	}
	code, stdout, stderr := ws.run(t, ws.env, "hdi ingest --job "+name+" --dry-run --format json")
	var plan struct {
		Plans []struct {
			Table string `json:"table"`
			Units []any  `json:"units"`
		} `json:"plans"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || len(plan.Plans) != 1 || len(plan.Plans[0].Units) == 0 {
		t.Fatalf("dry run of %s: exit %d\n%s%s", name, code, stdout, stderr)
	}
	args := " --start 2024-01-08 --end 2024-01-09"
	b, _ := os.ReadFile(filepath.Join(ws.dir, file))
	if strings.Contains(string(b), "files:") {
		args = "" // a file job loads its files
	}
	for i, want := range []string{" succeeded in ", " 0 done, "} {
		code, stdout, stderr := ws.run(t, ws.env, "hdi ingest --job "+file+args)
		if code != 0 || !strings.Contains(stderr, want) {
			t.Fatalf("run %d of hdi ingest --job %s%s: exit %d, want %q\n%s%s", i+1, file, args, code, want, stdout, stderr)
		}
	}
	table := plan.Plans[0].Table
	if n := pgtest.Scalar[int64](t, ws.pool(t), "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()); n == 0 {
		t.Fatalf("%s holds no rows after %s ran", table, name)
	}
}

// runLiveJob records a live job's feed with hdi stream for a few seconds
// against the fake gateway, stops it (it must exit 0), and requires rows in
// the table of each of its schemas.
func (ws *workspace) runLiveJob(t *testing.T, name string) {
	code, stdout, stderr := ws.runStopped(t, ws.env, "hdi stream --job "+name, 5*time.Second)
	if code != 0 {
		t.Fatalf("hdi stream --job %s: exit %d, want 0 on SIGTERM\n%s%s", name, code, stdout, stderr)
	}
	pool := ws.pool(t)
	tables := pgtest.Scalar[[]string](t, pool, "SELECT array_agg(target_table ORDER BY stream) FROM live_positions WHERE name = $1", name)
	if len(tables) == 0 {
		t.Fatalf("stream %s recorded no positions:\n%s", name, stderr)
	}
	for _, table := range tables {
		if n := pgtest.Scalar[int64](t, pool, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()+" WHERE ts > now() - interval '1 hour'"); n == 0 {
			t.Fatalf("%s holds no live rows after hdi stream --job %s ran:\n%s", table, name, stderr)
		}
	}
}

// pool connects to the journey's database.
func (ws *workspace) pool(t *testing.T) *pgxpool.Pool {
	for _, kv := range ws.env {
		if url, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			return pgtest.Connect(t, url)
		}
	}
	t.Fatal("no DATABASE_URL")
	return nil
}

// TestEveryDocIsWalked: a new page in docs/ joins the journeys.
func TestEveryDocIsWalked(t *testing.T) {
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("docs: %v", err)
	}
	for _, p := range pages {
		if name := "docs/" + filepath.Base(p); !slices.Contains(docs, name) {
			t.Errorf("%s is not in the journeys' docs list", name)
		}
	}
}

// TestExtraction checks the extractor on a small document: fences, notes,
// continuations, heredocs, exports and synopses.
func TestExtraction(t *testing.T) {
	dir := t.TempDir()
	doc := "# t\n\n```sh\nhdi a \\\n  --b c   # note\n# a comment\nexport X=1\nhdi d\ncat > f.sql <<'EOF'\nSELECT 1;\nEOF\npsql -c 'CREATE\n  x'\n```\n\n" +
		"<!-- journey: skip no docker here -->\n```sh\ndocker compose up -d\n```\n\n" +
		"<!-- journey: exit 1 -->\n```bash\nhdi bad\n```\n\n    hdi synopsis [--x]\n\n```text\nhdi also synopsis\n```\n"
	os.WriteFile(filepath.Join(dir, "t.md"), []byte(doc), 0o644)
	got := markdownExamples(t, dir, "t.md")
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%s|%s|%v|%s|%d", e.where, e.cmd, e.env, e.skip, e.exit))
	}
	want := []string{
		"t.md:4|hdi a  --b c   # note|[]||0",
		"t.md:8|hdi d|[X=1]||0",
		"t.md:9|cat > f.sql <<'EOF'\nSELECT 1;\nEOF|[X=1]||0",
		"t.md:12|psql -c 'CREATE\n  x'|[X=1]||0",
		"t.md:18|docker compose up -d|[]|no docker here|0",
		"t.md:23|hdi bad|[]||1",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestScriptStopsAtItsFirstFailure: a script block whose middle command
// fails fails, though its last command succeeds (a curl -f of an API
// answering 400, then kill %1).
func TestScriptStopsAtItsFirstFailure(t *testing.T) {
	ws := &workspace{dir: t.TempDir()}
	if code, stdout, _ := ws.run(t, os.Environ(), "echo one\nfalse\necho two"); code == 0 || stdout != "one\n" {
		t.Errorf("exit %d, stdout %q: want a failure after one", code, stdout)
	}
}
