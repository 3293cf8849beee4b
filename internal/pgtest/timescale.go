package pgtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/testbin"
)

// timescaleStartTimeout bounds how long the PGlite server may take to print
// its port. Compiling the WASM build and running initdb takes 10-15 s on a
// 2-core machine, and nearer a minute when the machine is overloaded.
const timescaleStartTimeout = 3 * time.Minute

// NewTimescaleDB starts a PGlite+TimescaleDB server for this test and
// returns a connection URL to it (one connection at a time). The server
// is stopped when the test ends.
//
// The server (test/pglite/server.mjs) is PostgreSQL 17 with TimescaleDB 2.23
// compiled to WASM: one database session, no background workers. Open
// connections share that session and take turns at transaction boundaries,
// so a pool of several connections works but gains nothing; use
// pool_max_conns=1 (pgxpool) to make the serialisation explicit:
//
//	pool, err := pgxpool.New(ctx, pgtest.NewTimescaleDB(t)+"&pool_max_conns=1")
//
// The extension is available but not created: run
// CREATE EXTENSION IF NOT EXISTS timescaledb. Policies never run by
// themselves: call CALL run_job(job_id). Session state (SET, temporary
// tables, advisory locks) is shared by every connection to one server.
//
// It needs Node.js and the server's packages (npm ci --prefix test/pglite);
// without them it fails the test, it never skips.
func NewTimescaleDB(t testing.TB) string {
	t.Helper()
	root, err := timescaleRepoRoot()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	script := filepath.Join(root, "test", "pglite", "server.mjs")
	const install = "run `npm ci --prefix test/pglite` in the repository root"
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("pgtest: TimescaleDB tests need Node.js (node is not on PATH); install Node >= 20, then %s", install)
	}
	if _, err := os.Stat(filepath.Join(root, "test", "pglite", "node_modules", "@unni-craftsman", "pglite", "package.json")); err != nil {
		t.Fatalf("pgtest: the PGlite server's packages are missing (%v): %s", err, install)
	}

	cmd := exec.Command(node, script, "--port", "0")
	cmd.Dir = filepath.Join(root, "test", "pglite")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The server exits when its stdin closes: if this test process dies,
	// the pipe closes and the server goes with it.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	stderr := &testbin.Buffer{}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("pgtest: starting the PGlite server: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	stop := func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	t.Cleanup(func() {
		stop()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			t.Logf("pgtest: PGlite server stderr:\n%s", s)
		}
	})

	portc := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
					portc <- n
					break
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case port := <-portc:
		t.Logf("pgtest: PGlite+TimescaleDB server on port %d, started in %v", port, time.Since(start).Round(time.Millisecond))
		return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	case <-exited:
		t.Fatalf("pgtest: the PGlite server exited before listening (%v); if packages are missing, %s; stderr:\n%s", waitErr, install, stderr.String())
	case <-time.After(timescaleStartTimeout):
		stop()
		t.Fatalf("pgtest: the PGlite server did not listen within %v; stderr:\n%s", timescaleStartTimeout, stderr.String())
	}
	return ""
}

// timescaleRepoRoot walks up from the working directory to the directory holding go.mod.
func timescaleRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: cannot find test/pglite")
		}
		dir = parent
	}
}
