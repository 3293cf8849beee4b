package faults

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/testbin"
)

func TestMain(m *testing.M) { pgtest.Main(m, testbin.NoLeftovers) }

// result is a finished hdi process.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// env is the environment of an hdi process on database url: the test
// binaries' plugins, a private HOME, no Databento settings from outside.
func env(t *testing.T, url string, extra ...string) []string {
	var e []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABENTO_") && !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "HDI_") {
			e = append(e, kv)
		}
	}
	e = append(e, "HOME="+t.TempDir(), "HDI_PLUGIN_PATH="+testbin.Dir(t))
	if url != "" {
		e = append(e, "DATABASE_URL="+url)
	}
	return append(e, extra...)
}

func hdiCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(testbin.Dir(t), "hdi"), args...)
	c.Env = env
	return c
}

// hdi runs hdi to the end (at most 3 minutes).
func hdi(t *testing.T, env []string, args ...string) result {
	t.Helper()
	c := hdiCmd(t, env, args...)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(3*time.Minute, func() { _ = c.Process.Kill() })
	defer timer.Stop()
	err := c.Wait()
	r := result{code: c.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
	if err != nil && r.code == 0 {
		t.Fatalf("hdi %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func mustHDI(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := hdi(t, env, args...)
	if r.code != 0 {
		t.Fatalf("hdi %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// wantFail checks that hdi failed with exit code code (0: any non-zero)
// and that stderr holds every part.
func wantFail(t *testing.T, r result, code int, parts ...string) {
	t.Helper()
	if r.code == 0 || (code != 0 && r.code != code) {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Fatalf("stderr lacks %q:\n%s", p, r)
		}
	}
}

// migratedDB returns a fresh, migrated database.
func migratedDB(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.NewDB(t)
	mustHDI(t, env(t, url), "migrate", "up")
	return url, pgtest.Connect(t, url)
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// commName is a process's command name (truncated to 15 bytes by Linux).
func commName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
