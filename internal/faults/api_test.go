package faults

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/bench"
	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// apiJob is an ad-hoc job over the fake API: trades of ES.FUT over days.
func apiArgs(days int) []string {
	end := time.Date(2024, 1, 2+days-1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	return []string{"ingest", "--provider", "databento", "--dataset", "GLBX.MDP3", "--schema", "trades",
		"--symbols", "ES.FUT", "--stype-in", "parent", "--start", "2024-01-02", "--end", end, "--concurrency", "1"}
}

func apiEnv(t *testing.T, url string, srv *dbfake.Server) []string {
	return env(t, url, "DATABENTO_BASE_URL="+srv.URL, "DATABENTO_API_KEY="+srv.Key)
}

func fakeAPI(t *testing.T, days, perDay int) *dbfake.Server {
	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{Days: days, PerDay: perDay, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	t.Cleanup(srv.Close)
	return srv
}

// cleanRun loads the job from srv into a fresh database with no faults and
// returns the trades checksum.
func cleanRun(t *testing.T, srv *dbfake.Server, days int) string {
	t.Helper()
	url, pool := migratedDB(t)
	mustHDI(t, apiEnv(t, url, srv), apiArgs(days)...)
	sum := pgtest.Checksum(t, pool, "trades")
	if strings.HasPrefix(sum, "0:") {
		t.Fatal("the clean run loaded nothing")
	}
	srv.Reset()
	return sum
}

// TestPluginKilledMidStream kills the provider plugin (kill -9, found among
// hdi's child processes) while it streams a unit from a slow API: the unit
// fails with an error naming the plugin and the unit, hdi retries it with a
// new plugin process, and the table equals a clean run's.
func TestPluginKilledMidStream(t *testing.T) {
	const days = 2
	srv := fakeAPI(t, days, 3000)
	want := cleanRun(t, srv, days)

	url, pool := migratedDB(t)
	// Each 4 KiB piece of the first body waits 200 ms, so that stream stays
	// open for seconds, and the kill below lands while a body is streaming.
	srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Delay: 200 * time.Millisecond, Count: 1})
	c := hdiCmd(t, apiEnv(t, url, srv), apiArgs(days)...)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	var plugin int
	waitFor(t, time.Minute, "the plugin to start streaming", func() bool {
		for _, p := range bench.ChildPIDs(c.Process.Pid) {
			if strings.HasPrefix(commName(p), "hdi-provider") {
				plugin = p
			}
		}
		return plugin != 0 && srv.InFlight("timeseries.get_range") > 0
	})
	if err := syscall.Kill(plugin, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	stderr := errb.String()
	// The failure names the plugin and the unit.
	for _, part := range []string{`plugin databento failed on unit \"databento:GLBX.MDP3:trades:`, "plugin process exited"} {
		if !strings.Contains(stderr, part) {
			t.Fatalf("stderr lacks %q:\n%s", part, stderr)
		}
	}
	// hdi restarts the plugin and retries the unit in the same run.
	if err != nil {
		t.Fatalf("the run should recover from the killed plugin: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "unit failed, retrying") || !strings.Contains(stderr, "0 failed") {
		t.Fatalf("the unit should be retried and the run succeed:\n%s", stderr)
	}
	if got := pgtest.Checksum(t, pool, "trades"); got != want {
		t.Fatalf("after the plugin was killed the table differs from a clean run: %s vs %s", got, want)
	}
}

// TestFakeAPIFaults runs a job through the fake API answering 429, 500, a
// body cut mid-stream and a slow body: transient faults are retried and the
// result equals a clean run's; faults that outlast the retries fail with
// the API's message and commit nothing.
func TestFakeAPIFaults(t *testing.T) {
	const days = 3
	srv := fakeAPI(t, days, 500)
	want := cleanRun(t, srv, days)
	cases := []struct {
		name  string
		fault dbfake.Fault
		fail  []string // parts of the error when the run must fail
	}{
		{"429 with Retry-After", dbfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Count: 2}, nil},
		{"500 once", dbfake.Fault{Status: http.StatusInternalServerError, Count: 1}, nil},
		{"cut stream", dbfake.Fault{CutAfter: 0.4, Count: 1}, nil},
		{"stream cut twice", dbfake.Fault{CutAfter: 0.5, Count: 2}, nil},
		{"slow stream", dbfake.Fault{Delay: 5 * time.Millisecond, Count: 3}, nil},
		{"wrong key", dbfake.Fault{Status: http.StatusUnauthorized, Detail: dbfake.UnauthorizedDetail, Count: 1000}, []string{"401", "API key"}},
	}
	if slowFaults {
		// Retried with backoff by the plugin and by the runner: minutes.
		cases = append(cases, struct {
			name  string
			fault dbfake.Fault
			fail  []string
		}{"500 for good", dbfake.Fault{Status: http.StatusInternalServerError, Detail: "the fake is down", Count: 1000}, []string{"500", "the fake is down"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			url, pool := migratedDB(t)
			f := tc.fault
			f.Endpoint = "timeseries.get_range"
			srv.Inject(f)
			r := hdi(t, apiEnv(t, url, srv), apiArgs(days)...)
			if tc.fail != nil {
				wantFail(t, r, 0, tc.fail...)
				if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM trades`); n != 0 {
					t.Fatalf("a failed run left %d rows", n)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("a transient fault should be retried: %s", r)
			}
			if got := pgtest.Checksum(t, pool, "trades"); got != want {
				t.Fatalf("after %s the table differs from a clean run: %s vs %s\n%s", tc.name, got, want, r.stderr)
			}
			// A cut stream resumes inside its unit: each unit commits once,
			// on its first attempt.
			if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done'`); n != days {
				t.Fatalf("%d units done, want %d", n, days)
			}
		})
	}
}

// TestStreamCutTwiceResumes: a day's stream cut twice mid-body, after
// batches went to the unit's transaction, resumes where it stopped each
// time and commits the unit once: the table equals a clean run's, the
// ledger has the unit done on its first attempt, and three requests were
// made (two cut, one to the end).
func TestStreamCutTwiceResumes(t *testing.T) {
	srv := fakeAPI(t, 1, 100_000) // ~300k trades: several batches before a cut
	want := cleanRun(t, srv, 1)
	url, pool := migratedDB(t)
	srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", CutAfter: 0.5, Count: 2})
	r := mustHDI(t, apiEnv(t, url, srv), apiArgs(1)...)
	if got := pgtest.Checksum(t, pool, "trades"); got != want {
		t.Fatalf("after two cuts the table differs from a clean run: %s vs %s\n%s", got, want, r.stderr)
	}
	if n := strings.Count(r.stderr, "resuming from"); n != 2 {
		t.Fatalf("want two resumes, the log has %d:\n%s", n, r.stderr)
	}
	if n := len(srv.RequestsTo("timeseries.get_range")); n != 3 {
		t.Fatalf("%d get_range requests, want 3", n)
	}
	if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done'`); n != 1 {
		t.Fatalf("%d units, want the day's one", n)
	}
	if !strings.Contains(r.stderr, "1 done, 0 skipped") {
		t.Fatalf("summary:\n%s", r.stderr)
	}
}
