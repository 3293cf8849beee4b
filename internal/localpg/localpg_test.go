package localpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const helperEnv = "HDI_LOCALPG_TEST_HELPER_DIR"

// TestMain doubles as a helper process: with helperEnv set, the test binary
// starts the cluster in that directory, prints what happened as JSON, and
// exits. The concurrency test runs it as a second and third process.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helperMain(dir))
	}
	os.Exit(m.Run())
}

type helperResult struct {
	URL     string `json:"url"`
	Created bool   `json:"created"`
	Err     string `json:"err,omitempty"`
}

func helperMain(dir string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var r helperResult
	c, err := Open(Options{DataDir: dir})
	if err == nil {
		var res StartResult
		res, err = c.Start(ctx)
		r.URL, r.Created = c.URL(), res.Created
	}
	if err != nil {
		r.Err = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

// reachableTempDir is a temporary directory the postgres user can reach when
// the tests run as root (t.TempDir and its parent are 0700).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if os.Geteuid() == 0 {
		for _, p := range []string{d, filepath.Dir(d)} {
			if err := os.Chmod(p, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func query[T any](t *testing.T, url, sql string) T {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func exec1(t *testing.T, url, sql string) {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// expectedOwner is the uid that must own the cluster directory.
func expectedOwner(t *testing.T) (uint32, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return uint32(os.Geteuid()), "the current user"
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root without a postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uint32(uid), "postgres"
}

func assertPrivate(t *testing.T, path string, wantMode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != wantMode {
		t.Errorf("%s: mode %o, want %o", path, got, wantMode)
	}
	uid, who := expectedOwner(t)
	if got := fi.Sys().(*syscall.Stat_t).Uid; got != uid {
		t.Errorf("%s: owner uid %d, want %d (%s)", path, got, uid, who)
	}
}

// TestLocalCluster walks one cluster through its whole life: two goroutines
// and two processes create and start it at once, then it is reused, reached
// over TCP, stopped, and restarted with its data intact.
func TestLocalCluster(t *testing.T) {
	t.Parallel()
	base := reachableTempDir(t)
	ctx := testCtx(t)
	t.Cleanup(func() {
		c, err := Open(Options{DataDir: base})
		if err == nil {
			_ = c.Remove(context.Background())
		}
	})

	var url string
	t.Run("concurrent starts", func(t *testing.T) {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			results []helperResult
		)
		add := func(r helperResult) {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}
		for i := 0; i < 2; i++ {
			wg.Add(2)
			go func() { // another process
				defer wg.Done()
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), helperEnv+"="+base)
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				var r helperResult
				if err == nil {
					err = json.Unmarshal(out, &r)
				}
				if err != nil {
					r.Err = fmt.Sprintf("helper process: %v: %s", err, out)
				}
				add(r)
			}()
			go func() { // this process
				defer wg.Done()
				var r helperResult
				c, err := Open(Options{DataDir: base})
				if err == nil {
					var res StartResult
					res, err = c.Start(ctx)
					r.URL, r.Created = c.URL(), res.Created
				}
				if err != nil {
					r.Err = err.Error()
				}
				add(r)
			}()
		}
		wg.Wait()
		created := 0
		for i, r := range results {
			if r.Err != "" {
				t.Fatalf("start %d: %s", i, r.Err)
			}
			if r.Created {
				created++
			}
			if r.URL != results[0].URL {
				t.Errorf("start %d got URL %q, start 0 got %q", i, r.URL, results[0].URL)
			}
		}
		if created != 1 {
			t.Errorf("%d of %d starts ran initdb, want exactly 1", created, len(results))
		}
		url = results[0].URL
		if got := query[string](t, url, "SELECT current_database()"); got != Database {
			t.Errorf("current_database() = %q, want %q", got, Database)
		}
	})
	if url == "" {
		t.FailNow()
	}

	t.Run("private and loopback only", func(t *testing.T) {
		c, err := Open(Options{DataDir: base})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(base, "postgres"); c.Dir() != want {
			t.Errorf("Dir() = %s, want %s", c.Dir(), want)
		}
		for _, p := range []string{c.Dir(), c.DataDir(), c.runDir()} {
			assertPrivate(t, p, 0o700)
		}
		assertPrivate(t, c.pwPath(), 0o600)
		if got := query[string](t, url, "SHOW listen_addresses"); got != "127.0.0.1" {
			t.Errorf("listen_addresses = %q, want 127.0.0.1", got)
		}
		if got := query[string](t, url, "SHOW unix_socket_directories"); got != c.runDir() {
			t.Errorf("unix_socket_directories = %q, want %s", got, c.runDir())
		}
		if got := query[string](t, url, "SHOW server_encoding"); got != "UTF8" {
			t.Errorf("server_encoding = %q", got)
		}
		if got := query[string](t, url, "SHOW lc_collate"); got != "C" {
			t.Errorf("lc_collate = %q", got)
		}
		if strings.Contains(c.URL(), ":"+mustPassword(t, c)) {
			t.Errorf("URL() carries the password")
		}
	})

	t.Run("tcp needs the password", func(t *testing.T) {
		c, err := Open(Options{DataDir: base})
		if err != nil {
			t.Fatal(err)
		}
		tcp, err := c.TCPURL()
		if err != nil {
			t.Fatal(err)
		}
		if got := query[int](t, tcp, "SELECT 1"); got != 1 {
			t.Fatal(got)
		}
		wrong := strings.Replace(tcp, mustPassword(t, c), "wrong", 1)
		conn, err := pgx.Connect(ctx, wrong)
		if err == nil {
			conn.Close(ctx)
			t.Fatal("connected over TCP with a wrong password")
		}
	})

	t.Run("reuse a running cluster", func(t *testing.T) {
		c, err := Open(Options{DataDir: base})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			res, err := c.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Created || res.Started {
				t.Errorf("start %d of a running cluster: %+v, want it reused", i, res)
			}
		}
		if d := c.Describe(); !strings.Contains(d, c.Dir()) || !strings.Contains(d, "local PostgreSQL") {
			t.Errorf("Describe() = %q, want it to name %s", d, c.Dir())
		}
		if c.URL() != url {
			t.Errorf("URL() = %s, want %s", c.URL(), url)
		}
		st := c.Status(ctx)
		if !st.Created || !st.Running || !st.Accepting || st.PID == 0 || st.URL != url {
			t.Errorf("status of a running cluster: %+v", st)
		}
	})

	t.Run("stop and restart", func(t *testing.T) {
		exec1(t, url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
		c, err := Open(Options{DataDir: base})
		if err != nil {
			t.Fatal(err)
		}
		if was, err := c.Stop(ctx); err != nil || !was {
			t.Fatalf("Stop() = %v, %v; want true, nil", was, err)
		}
		if st := c.Status(ctx); !st.Created || st.Running || st.Accepting {
			t.Errorf("status after stop: %+v", st)
		}
		if was, err := c.Stop(ctx); err != nil || was {
			t.Fatalf("second Stop() = %v, %v; want false, nil", was, err)
		}
		res, err := c.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created || !res.Started {
			t.Errorf("restart: %+v, want Started only", res)
		}
		if got := query[int](t, url, "SELECT v FROM kept"); got != 42 {
			t.Errorf("after restart kept.v = %d, want 42", got)
		}
	})

	t.Run("remembered port taken at start", func(t *testing.T) {
		c, err := Open(Options{DataDir: base})
		if err != nil {
			t.Fatal(err)
		}
		old := c.Status(ctx).Port
		if _, err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(old)))
		if err != nil {
			t.Fatalf("occupy port %d: %v", old, err)
		}
		defer l.Close()
		if _, err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		st := c.Status(ctx)
		if st.Port == old || !st.Accepting {
			t.Fatalf("status after a start with port %d taken: %+v", old, st)
		}
		tcp, err := c.TCPURL()
		if err != nil {
			t.Fatal(err)
		}
		if got := query[int](t, tcp, "SELECT v FROM kept"); got != 42 {
			t.Errorf("on the new port kept.v = %d, want 42", got)
		}
		if reopened, err := Open(Options{DataDir: base}); err != nil || reopened.URL() != c.URL() {
			t.Errorf("the new port is not remembered: %v, %q vs %q", err, reopened.URL(), c.URL())
		}
	})
}

func mustPassword(t *testing.T, c *Cluster) string {
	t.Helper()
	pw, err := c.Password()
	if err != nil || len(pw) < 16 {
		t.Fatalf("Password() = %q, %v", pw, err)
	}
	return pw
}

func TestNoServerBinaries(t *testing.T) {
	dir := reachableTempDir(t)
	c, err := Open(Options{DataDir: dir, Search: &Search{Globs: []string{filepath.Join(dir, "nowhere", "*", "bin")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Start(testCtx(t))
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("Start() error = %v, want ErrNoServer", err)
	}
	for _, want := range []string{"apt-get install postgresql", "docker compose up -d", "export DATABASE_URL=postgres://hdi:hdi@127.0.0.1:5433/hdi", "DATABASE_URL=postgres://USER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if c.Dir() != filepath.Join(dir, "postgres") {
		t.Fatalf("Dir() = %s, want it under %s", c.Dir(), dir)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("%s was touched without server binaries: %v", dir, entries)
	}
}

func TestRootFallback(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("root handling: needs root")
	}
	ctx := testCtx(t)
	t.Run("no server user", func(t *testing.T) {
		_, err := Open(Options{DataDir: t.TempDir(), ServerUser: "hdi-no-such-user"})
		if err == nil || !strings.Contains(err.Error(), "refuses to run as root") || !strings.Contains(err.Error(), "hdi-no-such-user") {
			t.Fatalf("Open() error = %v, want one explaining root", err)
		}
	})

	t.Run("data dir closed to postgres", func(t *testing.T) {
		closed := filepath.Join(reachableTempDir(t), "private")
		if err := os.Mkdir(closed, 0o700); err != nil {
			t.Fatal(err)
		}
		fallback := reachableTempDir(t)
		c, err := Open(Options{DataDir: filepath.Join(closed, "hdi"), RootFallbackDir: fallback, Throwaway: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Remove(context.Background()) })
		if want := filepath.Join(fallback, "postgres"); c.Dir() != want {
			t.Fatalf("Dir() = %s, want the fallback %s", c.Dir(), want)
		}
		if !strings.Contains(c.FallbackReason(), closed) {
			t.Errorf("FallbackReason() = %q, want it to name %s", c.FallbackReason(), closed)
		}
		res, err := c.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || !res.Started {
			t.Errorf("Start() = %+v", res)
		}
		if note := c.Describe(); !strings.Contains(note, c.Dir()) || !strings.Contains(note, "cannot reach") {
			t.Errorf("notice %q should name %s and why", note, c.Dir())
		}
		for _, p := range []string{c.Dir(), c.DataDir(), c.runDir()} {
			assertPrivate(t, p, 0o700)
		}
		if got := query[string](t, c.URL(), "SELECT current_user"); got != Superuser {
			t.Errorf("current_user = %q", got)
		}
		if _, err := os.Stat(filepath.Join(closed, "hdi", "postgres")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("something was created under the closed data dir (%v)", err)
		}
	})
}

func TestThrowaway(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	dir := t.TempDir() // 0700 parents: under root, Throwaway moves to a temp dir
	c, err := Throwaway(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := query[bool](t, c.URL(), "SELECT current_setting('fsync') = 'off'"); !got {
		t.Errorf("throwaway cluster has fsync on")
	}
	if err := c.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove left %s (%v)", c.Dir(), err)
	}
	if c.tempBase {
		if _, err := os.Stat(c.base); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Remove left the temporary base %s", c.base)
		}
	}
}
