package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// batchSetup is a fake API with one day of trades, a clean stream run's
// checksum, and the arguments of the same pull by batch delivery, with a
// config file that downloads into a directory of the test's and polls
// fast.
func batchSetup(t *testing.T, perDay int) (srv *dbfake.Server, want string, args []string, dir string) {
	t.Helper()
	srv = fakeAPI(t, 1, perDay)
	want = cleanRun(t, srv, 1)
	dir = t.TempDir()
	cfg := filepath.Join(dir, "hdi.yaml")
	body := fmt.Sprintf("providers:\n  databento:\n    download_dir: %s\n    poll_interval: 10ms\n", filepath.Join(dir, "downloads"))
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--config", cfg}, apiArgs(1)...)
	return srv, want, append(args, "--param", "delivery=batch"), dir
}

// TestBatchIngestThroughFaults: a pull by batch job through a 429 while
// polling, an expired job, a cut download and a corrupted one loads exactly
// the rows of the stream; a second run loads nothing; --force reloads from
// the verified files: no new job, no download.
func TestBatchIngestThroughFaults(t *testing.T) {
	srv, want, args, _ := batchSetup(t, 20_000)
	url, pool := migratedDB(t)
	srv.Inject(
		dbfake.Fault{Endpoint: "batch.list_jobs", Status: 429, RetryAfter: "0"},
		dbfake.Fault{Endpoint: "batch.list_jobs", Expire: true},
		dbfake.Fault{Endpoint: "batch.download", CutAfter: 0.5},
		dbfake.Fault{Endpoint: "batch.download", Corrupt: true},
	)
	e := apiEnv(t, url, srv)
	r := mustHDI(t, e, args...)
	if got := pgtest.Checksum(t, pool, "trades"); got != want {
		t.Fatalf("batch delivery differs from the stream: %s vs %s\n%s", got, want, r.stderr)
	}
	if n := len(srv.Jobs()); n != 2 || !strings.Contains(r.stderr, "has expired") {
		t.Fatalf("%d jobs (want 2: one expired)\n%s", n, r.stderr)
	}
	if out := mustHDI(t, e, "runs", "show", "1").stdout; !strings.Contains(out, "batch job "+srv.Jobs()[1].ID+": loading") {
		t.Errorf("runs show does not say where the batch unit got:\n%s", out)
	}
	mustHDI(t, e, args...) // done: skipped
	if n := len(srv.Jobs()); n != 2 {
		t.Fatalf("a re-run submitted again: %d jobs", n)
	}
	downloads := len(srv.RequestsTo("batch.download"))
	r = mustHDI(t, e, append(args, "--force")...)
	if n := len(srv.Jobs()); n != 2 {
		t.Fatalf("--force submitted again: %d jobs", n)
	}
	if n := len(srv.RequestsTo("batch.download")); n != downloads {
		t.Fatalf("--force downloaded again: %d requests, was %d", n, downloads)
	}
	if got := pgtest.Checksum(t, pool, "trades"); got != want || !strings.Contains(r.stderr, "1 done") {
		t.Fatalf("after --force: %s vs %s\n%s", got, want, r.stderr)
	}
}

// TestBatchKilledResumesWithoutResubmit: hdi SIGKILLed while it downloads
// the batch files, and again while it loads them; each re-run goes on with
// the same job (no second submit, no second charge) and the table is exact.
func TestBatchKilledResumesWithoutResubmit(t *testing.T) {
	for _, phase := range []string{"download", "load"} {
		t.Run(phase, func(t *testing.T) {
			perDay := 20_000
			if phase == "load" {
				perDay = 300_000 // ~1M rows: the load lasts long enough to be caught
			}
			srv, want, args, _ := batchSetup(t, perDay)
			url, pool := migratedDB(t)
			e := apiEnv(t, url, srv)
			if phase == "download" {
				srv.Inject(dbfake.Fault{Endpoint: "batch.download", Delay: 20 * time.Millisecond, Count: 1000})
			}
			c := hdiCmd(t, e, args...)
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !killed; time.Sleep(2 * time.Millisecond) {
				switch phase {
				case "download":
					// Downloading, with the job recorded: the provider sends
					// the job's checkpoint before it downloads, but the host
					// may store it a moment later on a busy machine.
					var n int64
					_ = pool.QueryRow(t.Context(), `SELECT count(*) FROM unit_checkpoints`).Scan(&n)
					killed = n > 0 && srv.InFlight("batch.download") > 0
				case "load":
					var n int64
					_ = pool.QueryRow(t.Context(), `SELECT count(*) FROM unit_checkpoints WHERE note LIKE '%: loading'`).Scan(&n)
					killed = n > 0
				}
			}
			if !killed {
				_ = c.Process.Kill()
				t.Fatalf("never reached the %s", phase)
			}
			_ = c.Process.Signal(syscall.SIGKILL)
			_ = c.Wait()
			if n := pgtest.Scalar[int64](t, pool, `SELECT count(*) FROM units WHERE status = 'done'`); n != 0 {
				t.Fatalf("the kill came after the commit: nothing tested")
			}
			srv.Reset()
			r := mustHDI(t, e, args...)
			if n := len(srv.Jobs()); n != 1 {
				t.Fatalf("after the kill the re-run submitted again: %d jobs\n%s", n, r.stderr)
			}
			if phase == "load" && len(srv.RequestsTo("batch.download")) != 0 {
				t.Fatalf("the verified files were downloaded again after a kill in the load")
			}
			if got := pgtest.Checksum(t, pool, "trades"); got != want {
				t.Fatalf("after a kill in the %s: %s vs %s\n%s", phase, got, want, r.stderr)
			}
		})
	}
}
