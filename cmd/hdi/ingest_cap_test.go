package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// decadesHourly is issue 25's command: 55 years of trades in hourly units.
var decadesHourly = []string{"ingest", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades",
	"--symbols", "ES.c.0", "--stype-in", "continuous", "--start", "1971-01-01", "--end", "2025-12-31", "--chunk", "1h", "--dry-run"}

// TestIngestRefusesAPlanOverTheCap: a plan of more units than --max-units
// (default 10000) is refused at once, in one line that proposes the chunk
// length that fits, before any request to the API; --max-units raises the
// cap (a usage error: exit 2, like every refused flag value). 1970-01-01
// is a date like any other.
func TestIngestRefusesAPlanOverTheCap(t *testing.T) {
	url := pgtest.NewDB(t)
	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{Days: 2, PerDay: 10, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	defer srv.Close()
	env := ingestEnv(t, url)
	env["DATABENTO_BASE_URL"], env["DATABENTO_API_KEY"] = srv.URL, srv.Key
	mustRun(t, env, "migrate", "up")
	code, out, errOut := runCLI(t, env, decadesHourly...)
	want := "hdi: --chunk: 1h makes 482136 units, more than --max-units 10000 allows: use --chunk 1w (2871 units), or raise --max-units\n"
	if code != exitUsage || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 2 {
		t.Fatalf("exit %d, stdout %q\n got %s\nwant %s", code, out, errOut, want)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d API requests for a refused plan", n)
	}
	// The proposal fits.
	args := append(append([]string{}, decadesHourly[:len(decadesHourly)-3]...), "--chunk", "1w", "--dry-run")
	if out, _ := mustRun(t, env, args...); !strings.Contains(out, "total: 2871 units of trades") {
		t.Errorf("--chunk 1w:\n%s", tail(out))
	}
	if code, _, errOut := runCLI(t, env, append(decadesHourly, "--max-units", "0")...); code != exitUsage || !strings.Contains(errOut, "--max-units must be at least 1") {
		t.Errorf("--max-units 0: exit %d %s", code, errOut)
	}
	out, _ = mustRun(t, env, "ingest", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades",
		"--symbols", "ESH4", "--start", "1970-01-01", "--end", "1970-01-02", "--dry-run")
	if !strings.Contains(out, "1970-01-01T00:00:00Z  1970-01-02T00:00:00Z") || !strings.Contains(out, "total: 2 units") {
		t.Errorf("--start 1970-01-01:\n%s", out)
	}
}

func tail(s string) string { return s[max(0, len(s)-500):] }

// TestDryRunStopsOnSIGTERM: a dry run of 100,000 units (over the default
// cap, with --max-units raised) stops soon after SIGTERM while it prints
// the plan, and exits 1 saying it was interrupted, like an interrupted
// ingest. The bound is a liveness check, not a timing: before, such a
// run printed to its end (163 s for 1.5M units in issue 24).
func TestDryRunStopsOnSIGTERM(t *testing.T) {
	bin := testbin.Dir(t)
	url := pgtest.NewDB(t)
	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{Days: 2, PerDay: 10, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	defer srv.Close()
	c := exec.Command(filepath.Join(bin, "hdi"), "ingest", "--migrate", "--provider", "databento", "--dataset", "GLBX.MDP3",
		"--schema", "trades", "--symbols", "ESH4", "--start", "2013-01-01", "--end", "2024-05-29", "--chunk", "1h",
		"--dry-run", "--max-units", "2000000")
	c.Env = append(os.Environ(), "DATABASE_URL="+url, "HDI_PLUGIN_PATH="+bin, "DATABENTO_BASE_URL="+srv.URL,
		"DATABENTO_API_KEY="+srv.Key, "HOME="+t.TempDir())
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill() })
	r := bufio.NewReader(stdout)
	header, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(header, "UNIT") {
		t.Fatalf("no plan printed: %q %v\n%s", header, err, stderr.String())
	}
	// The pipe is full and hdi waits to write more: the signal lands while
	// it prints. Then read on, so it can go on and notice.
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	time.Sleep(100 * time.Millisecond)
	rest := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); rest <- string(b) }()
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	select {
	case err = <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM\n%s", stderr.String())
	}
	printed := <-rest
	t.Logf("exited %s after SIGTERM, having printed %d more bytes", time.Since(signalled).Round(time.Millisecond), len(printed))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Fatalf("exit: %v, want status 1\n%s", err, stderr.String())
	}
	if got := stderr.String(); !strings.HasSuffix(got, "hdi: interrupted: nothing was loaded or queued\n") {
		t.Errorf("stderr:\n%s", got)
	}
	if strings.Contains(printed, "total:") || strings.Count(printed, "\n") > 10_000 {
		t.Errorf("the plan printed on after SIGTERM: %d more lines", strings.Count(printed, "\n"))
	}
}
