// Package localpg runs hdi's own PostgreSQL cluster, made from the server
// binaries installed on the machine, for when no database URL is configured;
// tests use the same code for throwaway clusters.
//
// # Layout
//
// A cluster lives in <base>/postgres (mode 0700), where <base> is hdi's data
// directory:
//
//	<base>/postgres.lock       flock(2) taken around create, start and stop
//	<base>/postgres/
//	    hdi.json               state: port, socket dir, version, bin dir
//	    password               the superuser's TCP password (0600)
//	    postgres.log           the server log
//	    run/                   the Unix socket directory (0700)
//	    data/                  PGDATA
//
// # Access
//
// The server listens on a Unix socket in run/ (a private 0700 directory,
// authentication "trust": only the owner and root can reach it) and on a
// loopback port of 127.0.0.1 chosen when the cluster is created (a new one is
// chosen if that port is taken at start), where it requires the password
// generated at creation (scram-sha-256). URL uses the socket and carries no
// secret; TCPURL carries the password. The superuser is "postgres"; the
// database "hdi" is created on first start.
//
// # Root
//
// PostgreSQL refuses to run as root. When hdi runs as root, initdb and pg_ctl
// run as the "postgres" system user (Options.ServerUser), and the cluster
// directory is owned by that user. When that user cannot reach the data
// directory (a parent such as /root is 0700), the cluster goes to
// Options.RootFallbackDir (default /var/lib/hdi) instead, and the notice says
// so. When no such user exists, Open says plainly that the cluster cannot run.
package localpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Database is the database created in every local cluster.
const Database = "hdi"

// Superuser is the cluster's superuser role.
const Superuser = "postgres"

// DefaultRootFallbackDir is where the cluster lives when hdi runs as root and
// the server user cannot reach the configured data directory.
const DefaultRootFallbackDir = "/var/lib/hdi"

// maxSocketPath is the longest Unix socket path we use (sun_path is 108
// bytes on Linux, 104 on macOS, including the NUL).
const maxSocketPath = 103

// Options configure a local cluster.
type Options struct {
	// DataDir is hdi's data directory; the cluster lives in DataDir/postgres.
	DataDir string
	// Search says where to find the server binaries; nil means DefaultSearch.
	Search *Search
	// Throwaway makes the cluster fast and non-durable (fsync off): for tests.
	Throwaway bool
	// ServerUser is the system account the server runs as when hdi runs as
	// root; default "postgres". Ignored when not root.
	ServerUser string
	// RootFallbackDir replaces DataDir when hdi runs as root and ServerUser
	// cannot traverse DataDir's parents; default DefaultRootFallbackDir.
	RootFallbackDir string
}

// Cluster is a local PostgreSQL cluster. Its methods are safe for concurrent
// use, also across processes (they serialise on a file lock).
type Cluster struct {
	opts     Options
	base     string // the directory holding postgres/ and postgres.lock
	dir      string // base/postgres
	acct     *account
	fallback string // why base is not opts.DataDir ("" when it is)
	tempBase bool   // base was created by Throwaway and is removed by Remove

	mu sync.Mutex
	st *state
}

// account is the system user the server runs as (only under root).
type account struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

// state is what hdi remembers about a cluster, in hdi.json.
type state struct {
	Port      int       `json:"port"`
	SocketDir string    `json:"socket_dir,omitempty"` // "" when sockets are off
	Version   string    `json:"version"`
	BinDir    string    `json:"bin_dir"`
	Throwaway bool      `json:"throwaway,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Open prepares the cluster for opts.DataDir without touching the disk beyond
// reading its state. Under root it resolves the server user and where the
// cluster can live.
func Open(opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("local PostgreSQL: no data directory given (set data_dir or HDI_DATA_DIR)")
	}
	base, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("local PostgreSQL: data directory %s: %w", opts.DataDir, err)
	}
	c := &Cluster{opts: opts}
	if os.Geteuid() == 0 {
		acct, err := lookupAccount(opts.ServerUser)
		if err != nil {
			return nil, err
		}
		c.acct = acct
		if ok, blocked := acct.canReach(base); !ok {
			fb := opts.RootFallbackDir
			if fb == "" {
				fb = DefaultRootFallbackDir
			}
			if ok, blocked2 := acct.canReach(fb); !ok {
				return nil, fmt.Errorf("local PostgreSQL: hdi runs as root, so the server runs as the %q user, which can reach neither %s (%s is closed to it) nor %s (%s is closed to it); set data_dir (HDI_DATA_DIR) to a directory it can reach, or set DATABASE_URL", acct.name, base, blocked, fb, blocked2)
			}
			c.fallback = fmt.Sprintf("hdi runs as root and the %s user cannot reach %s, as %s is closed to it", acct.name, base, blocked)
			base = fb
		}
	}
	c.base = base
	c.dir = filepath.Join(base, "postgres")
	if st, err := c.loadState(); err == nil {
		c.st = st
	}
	return c, nil
}

// Throwaway creates and starts a fast, non-durable cluster in dir (for
// tests). Call Remove when done. Under root, when the server user cannot
// reach dir, the cluster goes to a fresh directory under os.TempDir instead,
// which Remove deletes too.
func Throwaway(ctx context.Context, dir string) (*Cluster, error) {
	opts := Options{DataDir: dir, Throwaway: true}
	if os.Geteuid() == 0 {
		acct, err := lookupAccount("")
		if err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(dir)
		if ok, _ := acct.canReach(abs); !ok {
			tmp, err := os.MkdirTemp("", "hdi-localpg-")
			if err != nil {
				return nil, fmt.Errorf("local PostgreSQL: %w", err)
			}
			if err := os.Chmod(tmp, 0o711); err != nil {
				return nil, fmt.Errorf("local PostgreSQL: %w", err)
			}
			opts.DataDir = tmp
		}
	}
	c, err := Open(opts)
	if err != nil {
		return nil, err
	}
	c.tempBase = opts.DataDir != dir
	if _, err := c.Start(ctx); err != nil {
		_ = c.Remove(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}

// Dir is the cluster directory (<base>/postgres).
func (c *Cluster) Dir() string { return c.dir }

// DataDir is PGDATA, the server's data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.dir, "data") }

// LogFile is the server log.
func (c *Cluster) LogFile() string { return filepath.Join(c.dir, "postgres.log") }

// FallbackReason says why the cluster is not under Options.DataDir (only
// under root); empty when it is.
func (c *Cluster) FallbackReason() string { return c.fallback }

func (c *Cluster) lockPath() string  { return filepath.Join(c.base, "postgres.lock") }
func (c *Cluster) statePath() string { return filepath.Join(c.dir, "hdi.json") }
func (c *Cluster) pwPath() string    { return filepath.Join(c.dir, "password") }
func (c *Cluster) runDir() string    { return filepath.Join(c.dir, "run") }

func (c *Cluster) search() Search {
	if c.opts.Search != nil {
		return *c.opts.Search
	}
	return DefaultSearch()
}

func (c *Cluster) state() *state {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Cluster) setState(st *state) {
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
}

// URL returns the connection URL of the cluster's "hdi" database, through
// the Unix socket (no password; falls back to TCPURL when sockets are off).
// It is empty until the cluster has been created.
func (c *Cluster) URL() string { return c.DatabaseURL(Database) }

// DatabaseURL is URL for another database of the cluster, e.g. "postgres".
func (c *Cluster) DatabaseURL(db string) string {
	st := c.state()
	if st == nil {
		return ""
	}
	if st.SocketDir == "" {
		u, _ := c.tcpURL(st, db)
		return u
	}
	host := strings.ReplaceAll(url.QueryEscape(st.SocketDir), "%2F", "/")
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", Superuser, url.PathEscape(db), host, st.Port)
}

// TCPURL returns the URL of the "hdi" database over loopback TCP, with the
// password. Keep it out of logs.
func (c *Cluster) TCPURL() (string, error) {
	st := c.state()
	if st == nil {
		return "", fmt.Errorf("local PostgreSQL: no cluster in %s yet (run hdi db start)", c.dir)
	}
	return c.tcpURL(st, Database)
}

func (c *Cluster) tcpURL(st *state, db string) (string, error) {
	pw, err := c.Password()
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(Superuser, pw), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(st.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String(), nil
}

// Password returns the superuser's TCP password.
func (c *Cluster) Password() (string, error) {
	b, err := os.ReadFile(c.pwPath())
	if err != nil {
		return "", fmt.Errorf("local PostgreSQL: read the password: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// StartResult says what Start did.
type StartResult struct {
	// Created is true when this call ran initdb.
	Created bool
	// Started is true when this call started the server (false: it was
	// already running and is reused).
	Started bool
	// Version is the server's version.
	Version string
}

// Start creates the cluster if needed, starts it unless it is running, and
// makes sure the "hdi" database exists. Concurrent Starts, in this process or
// others, serialise on <base>/postgres.lock: exactly one creates the cluster
// and all get the same URL.
func (c *Cluster) Start(ctx context.Context) (StartResult, error) {
	var res StartResult
	var srv *Server
	if !c.initialized() {
		// Look before taking the lock, so that a machine without server
		// binaries is left untouched.
		var err error
		if srv, err = FindServer(ctx, c.search(), ""); err != nil {
			return res, err
		}
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return res, err
	}
	defer unlock()

	if !c.initialized() {
		if srv == nil { // removed since we looked
			if srv, err = FindServer(ctx, c.search(), ""); err != nil {
				return res, err
			}
		}
		if err := c.create(ctx, srv); err != nil {
			return res, err
		}
		res.Created = true
	}
	st, err := c.loadState()
	if err != nil {
		return res, err
	}
	c.setState(st)
	res.Version = st.Version

	if pid, ok := c.runningPID(); ok {
		if err := c.waitReady(ctx, 15*time.Second); err != nil {
			return res, fmt.Errorf("local PostgreSQL in %s: a server (pid %d) seems to run but does not answer: %w; see %s, or stop it with hdi db stop", c.dir, pid, err, c.LogFile())
		}
	} else {
		if err := c.startServer(ctx, st); err != nil {
			return res, err
		}
		res.Started = true
	}
	if err := c.ensureDatabase(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// Describe is the one-line notice "using hdi's local PostgreSQL 15.4 cluster
// in DIR", with the reason when the cluster is not under the data directory.
func (c *Cluster) Describe() string {
	var b strings.Builder
	b.WriteString("using hdi's local PostgreSQL")
	if st := c.state(); st != nil {
		fmt.Fprintf(&b, " %s", st.Version)
	}
	fmt.Fprintf(&b, " cluster in %s", c.dir)
	if c.fallback != "" {
		fmt.Fprintf(&b, " (not under the data directory: %s)", c.fallback)
	}
	return b.String()
}

// Stop stops the server (fast shutdown) and reports whether it was running.
func (c *Cluster) Stop(ctx context.Context) (bool, error) {
	if !c.initialized() {
		return false, nil
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	return c.stopLocked(ctx)
}

func (c *Cluster) stopLocked(ctx context.Context) (bool, error) {
	if _, ok := c.runningPID(); !ok {
		return false, nil
	}
	srv, err := FindServer(ctx, c.search(), c.pgVersion())
	if err != nil {
		return false, fmt.Errorf("local PostgreSQL in %s: cannot stop it: %w", c.dir, err)
	}
	if out, err := c.run(ctx, srv.bin("pg_ctl"), "stop", "-D", c.DataDir(), "-m", "fast", "-w", "-t", "120", "-s"); err != nil {
		return false, fmt.Errorf("local PostgreSQL in %s: pg_ctl stop: %w: %s", c.dir, err, strings.TrimSpace(out))
	}
	return true, nil
}

// Remove stops the server and deletes the cluster directory and its lock
// file (and, for a Throwaway that moved under root, its temporary base).
func (c *Cluster) Remove(ctx context.Context) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return err
	}
	_, stopErr := c.stopLocked(ctx)
	rmErr := os.RemoveAll(c.dir)
	unlock()
	_ = os.Remove(c.lockPath())
	if c.tempBase {
		_ = os.RemoveAll(c.base)
	}
	if err := errors.Join(stopErr, rmErr); err != nil {
		return fmt.Errorf("local PostgreSQL: remove %s: %w", c.dir, err)
	}
	c.setState(nil)
	return nil
}

// Status describes the cluster.
type Status struct {
	Dir        string `json:"dir"`
	Created    bool   `json:"created"`
	Running    bool   `json:"running"`
	Accepting  bool   `json:"accepting_connections"`
	PID        int    `json:"pid,omitempty"`
	Version    string `json:"version,omitempty"`
	Port       int    `json:"port,omitempty"`
	SocketDir  string `json:"socket_dir,omitempty"`
	URL        string `json:"url,omitempty"`
	LogFile    string `json:"log_file"`
	BinDir     string `json:"bin_dir,omitempty"`
	Fallback   string `json:"fallback_reason,omitempty"`
	ServerUser string `json:"server_user,omitempty"`
}

// Status reports whether the cluster exists and runs (from postmaster.pid)
// and whether it accepts connections. It needs no server binaries and
// changes nothing.
func (c *Cluster) Status(ctx context.Context) Status {
	s := Status{Dir: c.dir, LogFile: c.LogFile(), Fallback: c.fallback}
	if c.acct != nil {
		s.ServerUser = c.acct.name
	}
	if !c.initialized() {
		return s
	}
	s.Created = true
	if st, err := c.loadState(); err == nil {
		c.setState(st)
		s.Version, s.Port, s.SocketDir, s.BinDir = st.Version, st.Port, st.SocketDir, st.BinDir
		s.URL = c.URL()
	}
	if pid, ok := c.runningPID(); ok {
		s.Running, s.PID = true, pid
		s.Accepting = c.ping(ctx) == nil
	}
	return s
}

func (c *Cluster) initialized() bool {
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	return err == nil
}

// pgVersion is the major version in PG_VERSION ("" when unknown).
func (c *Cluster) pgVersion() string {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// runningPID reads postmaster.pid and checks that its process is alive.
func (c *Cluster) runningPID() (int, bool) {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false
	}
	return pid, true
}

// create runs initdb into data.init, configures it and renames it to data,
// so that an interrupted creation leaves nothing that looks like a cluster.
func (c *Cluster) create(ctx context.Context, srv *Server) error {
	if err := c.mkdirs(); err != nil {
		return err
	}
	if _, err := c.Password(); err != nil {
		if err := c.writeFile(c.pwPath(), []byte(randomHex(16)+"\n")); err != nil {
			return err
		}
	}
	tmp := filepath.Join(c.dir, "data.init")
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("local PostgreSQL: clear %s: %w", tmp, err)
	}
	args := []string{"-D", tmp, "-U", Superuser, "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + c.pwPath(), "-E", "UTF8", "--locale=C"}
	if c.opts.Throwaway {
		args = append(args, "--no-sync")
	}
	if out, err := c.run(ctx, srv.bin("initdb"), args...); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("local PostgreSQL: initdb in %s failed: %w\n%s", tmp, err, strings.TrimSpace(out))
	}
	st := &state{Version: srv.Version, BinDir: srv.BinDir, Throwaway: c.opts.Throwaway, CreatedAt: time.Now().UTC()}
	if len(filepath.Join(c.runDir(), ".s.PGSQL.65535")) <= maxSocketPath {
		st.SocketDir = c.runDir()
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	st.Port = port
	conf, err := os.OpenFile(filepath.Join(tmp, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = conf.WriteString("\n# Added by hdi: its settings (port, sockets, ...) are in hdi.conf.\ninclude 'hdi.conf'\n")
		if cerr := conf.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("local PostgreSQL: configure %s: %w", tmp, err)
	}
	if err := c.writeConf(tmp, st); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.DataDir()); err != nil {
		return fmt.Errorf("local PostgreSQL: %w", err)
	}
	return c.saveState(st)
}

// writeConf writes <pgdata>/hdi.conf from st.
func (c *Cluster) writeConf(pgdata string, st *state) error {
	var b strings.Builder
	b.WriteString("# Written by hdi (internal/localpg); hdi rewrites this file.\n")
	b.WriteString("listen_addresses = '127.0.0.1'\n")
	fmt.Fprintf(&b, "port = %d\n", st.Port)
	fmt.Fprintf(&b, "unix_socket_directories = '%s'\n", strings.ReplaceAll(st.SocketDir, "'", "''"))
	b.WriteString("unix_socket_permissions = 0700\n")
	b.WriteString("password_encryption = 'scram-sha-256'\n")
	if st.Throwaway {
		b.WriteString("# Throwaway (test) cluster: speed over durability.\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
	}
	return c.writeFile(filepath.Join(pgdata, "hdi.conf"), []byte(b.String()))
}

// startServer runs pg_ctl start, choosing a new port when the remembered one
// is taken.
func (c *Cluster) startServer(ctx context.Context, st *state) error {
	srv, err := FindServer(ctx, c.search(), c.pgVersion())
	if err != nil {
		return fmt.Errorf("local PostgreSQL in %s: %w", c.dir, err)
	}
	if err := c.mkdirs(); err != nil { // run/ may have been cleaned
		return err
	}
	for attempt := 0; ; attempt++ {
		if !portFree(st.Port) {
			if st.Port, err = freePort(); err != nil {
				return err
			}
			if err := c.writeConf(c.DataDir(), st); err != nil {
				return err
			}
			if err := c.saveState(st); err != nil {
				return err
			}
			c.setState(st)
		}
		logStart := fileSize(c.LogFile())
		out, err := c.run(ctx, srv.bin("pg_ctl"), "start", "-D", c.DataDir(), "-l", c.LogFile(), "-w", "-t", "120", "-s")
		if err == nil {
			return nil
		}
		tail := logSince(c.LogFile(), logStart)
		if attempt < 3 && strings.Contains(tail, "could not bind") {
			st.Port = 0 // taken between our check and the server's bind: pick another
			continue
		}
		return fmt.Errorf("local PostgreSQL in %s: pg_ctl start failed: %w\n%s%s\n(full log: %s)", c.dir, err, strings.TrimSpace(out), indent(tail), c.LogFile())
	}
}

// ensureDatabase creates the hdi database when it is missing.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.DatabaseURL("postgres"))
	if err != nil {
		return fmt.Errorf("local PostgreSQL in %s: connect: %w", c.dir, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(cctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&exists); err != nil {
		return fmt.Errorf("local PostgreSQL in %s: look for database %s: %w", c.dir, Database, err)
	}
	if !exists {
		if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{Database}.Sanitize()); err != nil {
			return fmt.Errorf("local PostgreSQL in %s: create database %s: %w", c.dir, Database, err)
		}
	}
	return nil
}

// ping opens and closes one connection.
func (c *Cluster) ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.DatabaseURL("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(cctx)
}

func (c *Cluster) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := c.ping(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// mkdirs creates base (reachable by the server user), the cluster directory
// and run/ (0700, owned by the server user).
func (c *Cluster) mkdirs() error {
	baseMode := os.FileMode(0o700)
	if c.acct != nil {
		baseMode = 0o711 // the server user must traverse it
	}
	if err := os.MkdirAll(c.base, baseMode); err != nil {
		return fmt.Errorf("local PostgreSQL: create %s: %w", c.base, err)
	}
	for _, d := range []string{c.dir, c.runDir()} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("local PostgreSQL: create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("local PostgreSQL: %w", err)
		}
		if err := c.chown(d); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes a 0600 file atomically, owned by the server user.
func (c *Cluster) writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("local PostgreSQL: write %s: %w", path, err)
	}
	if err := c.chown(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("local PostgreSQL: write %s: %w", path, err)
	}
	return nil
}

func (c *Cluster) chown(path string) error {
	if c.acct == nil {
		return nil
	}
	if err := os.Lchown(path, int(c.acct.uid), int(c.acct.gid)); err != nil {
		return fmt.Errorf("local PostgreSQL: give %s to the %s user: %w", path, c.acct.name, err)
	}
	return nil
}

func (c *Cluster) loadState() (*state, error) {
	b, err := os.ReadFile(c.statePath())
	if err != nil {
		return nil, fmt.Errorf("local PostgreSQL: read %s: %w (remove %s to start afresh)", c.statePath(), err, c.dir)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("local PostgreSQL: %s: %w (remove %s to start afresh)", c.statePath(), err, c.dir)
	}
	return &st, nil
}

func (c *Cluster) saveState(st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return c.writeFile(c.statePath(), append(b, '\n'))
}

// lock takes the exclusive flock on <base>/postgres.lock, waiting for ctx.
func (c *Cluster) lock(ctx context.Context) (func(), error) {
	mode := os.FileMode(0o700)
	if c.acct != nil {
		mode = 0o711
	}
	if err := os.MkdirAll(c.base, mode); err != nil {
		return nil, fmt.Errorf("local PostgreSQL: create %s: %w", c.base, err)
	}
	f, err := os.OpenFile(c.lockPath(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local PostgreSQL: open lock %s: %w", c.lockPath(), err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("local PostgreSQL: lock %s: %w", c.lockPath(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("local PostgreSQL: waiting for another hdi to finish with %s: %w", c.lockPath(), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func lookupAccount(name string) (*account, error) {
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("local PostgreSQL: hdi runs as root, and PostgreSQL refuses to run as root; hdi would run it as the %q system user, but there is none (%v). Run hdi as an ordinary user, create that user (e.g. useradd --system postgres), or set DATABASE_URL to use another server", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("local PostgreSQL: user %s: %w", name, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("local PostgreSQL: the server user %q is root, and PostgreSQL refuses to run as root; set DATABASE_URL to use another server", name)
	}
	a := &account{name: name, uid: uint32(uid), gid: uint32(gid)}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			a.groups = append(a.groups, uint32(n))
		}
	}
	return a, nil
}

// canReach reports whether the account may traverse every existing directory
// from path up to the root; when not, it names the first one that blocks.
// Directories that do not exist yet will be created traversable.
func (a *account) canReach(path string) (bool, string) {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			if !fi.IsDir() {
				return false, p + " (not a directory)"
			}
			if !a.mayExecute(fi) {
				return false, p
			}
		}
		if p == filepath.Dir(p) {
			return true, ""
		}
	}
}

func (a *account) mayExecute(fi os.FileInfo) bool {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case sys.Uid == a.uid:
		return perm&0o100 != 0
	case sys.Gid == a.gid || containsUint(a.groups, sys.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func containsUint(xs []uint32, x uint32) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("local PostgreSQL: find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns what was appended to the log after offset (at most 4 KiB).
func logSince(p string, offset int64) string {
	b, err := os.ReadFile(p)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "\n  " + strings.ReplaceAll(s, "\n", "\n  ")
}
