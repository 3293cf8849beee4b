package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoServer is wrapped by the error returned when no PostgreSQL server
// binaries (initdb, pg_ctl, postgres) can be found. Its message names the
// ways forward: install PostgreSQL, run the Docker Compose file, or set
// DATABASE_URL.
var ErrNoServer = errors.New("no PostgreSQL server binaries found")

// DefaultGlobs are the directories searched for server binaries after
// pg_config and PATH, in order: Debian/Ubuntu, RPM (PGDG and source builds),
// Homebrew. Within one pattern, newer versions come first.
var DefaultGlobs = []string{
	"/usr/lib/postgresql/*/bin",
	"/usr/pgsql-*/bin",
	"/usr/local/pgsql/bin",
	"/opt/homebrew/opt/postgresql@*/bin",
	"/usr/local/opt/postgresql@*/bin",
	"/opt/homebrew/opt/postgresql/bin",
	"/usr/local/opt/postgresql/bin",
	"/opt/homebrew/bin",
}

// Search says where to look for PostgreSQL server binaries. The zero value
// searches nowhere; DefaultSearch looks in the usual places.
type Search struct {
	// PgConfig is the pg_config program asked for --bindir: a path, or a name
	// looked up in Path. Empty skips it.
	PgConfig string
	// Path is a PATH-style list of directories searched for pg_ctl (symbolic
	// links are followed to the real installation). Empty skips it.
	Path string
	// Globs are directory patterns (filepath.Glob syntax) searched in order.
	Globs []string
}

// DefaultSearch looks through pg_config --bindir, $PATH and DefaultGlobs.
func DefaultSearch() Search {
	return Search{PgConfig: "pg_config", Path: os.Getenv("PATH"), Globs: DefaultGlobs}
}

func (s Search) describe() string {
	var parts []string
	if s.PgConfig != "" {
		parts = append(parts, s.PgConfig+" --bindir")
	}
	if s.Path != "" {
		parts = append(parts, "PATH")
	}
	parts = append(parts, s.Globs...)
	if len(parts) == 0 {
		return "nowhere (empty search)"
	}
	return strings.Join(parts, ", ")
}

// Server is one installation of the PostgreSQL server binaries.
type Server struct {
	// BinDir holds initdb, pg_ctl and postgres.
	BinDir string
	// Version is the full version, e.g. "15.14".
	Version string
	// Major is the major version as PostgreSQL writes it in PG_VERSION,
	// e.g. "15" (or "9.6" for old releases).
	Major string
}

func (s *Server) bin(name string) string { return filepath.Join(s.BinDir, name) }

// FindServer returns the first server installation found by s. When major is
// not empty, only an installation of that major version is accepted (an
// existing cluster can only be run by the version that created it).
func FindServer(ctx context.Context, s Search, major string) (*Server, error) {
	var others []string
	for _, dir := range s.candidates(ctx) {
		srv, err := inspect(ctx, dir)
		if err != nil {
			continue
		}
		if major == "" || srv.Major == major {
			return srv, nil
		}
		others = append(others, fmt.Sprintf("%s (PostgreSQL %s)", srv.BinDir, srv.Version))
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("need the PostgreSQL %s server binaries, but found only %s; install PostgreSQL %s (e.g. apt-get install postgresql-%s), or upgrade the cluster with pg_upgrade", major, strings.Join(others, ", "), major, major)
	}
	return nil, noServerError(s)
}

func noServerError(s Search) error {
	return fmt.Errorf(`%w (looked for initdb, pg_ctl and postgres through %s).
With no database URL configured, hdi runs its own local PostgreSQL cluster and needs them. Either:
  - install PostgreSQL and run hdi again (e.g. apt-get install postgresql, dnf install postgresql-server, brew install postgresql@17);
  - or start TimescaleDB with Docker from the hdi repository: docker compose up -d
    then: export DATABASE_URL=postgres://hdi:hdi@127.0.0.1:5433/hdi
  - or point hdi at a server you already have: export DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DBNAME`, ErrNoServer, s.describe())
}

// candidates lists the directories to inspect, in search order, without
// duplicates (by real path).
func (s Search) candidates(ctx context.Context) []string {
	var dirs []string
	if s.PgConfig != "" {
		if prog := lookIn(s.Path, s.PgConfig); prog != "" {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			out, err := exec.CommandContext(cctx, prog, "--bindir").Output()
			cancel()
			if err == nil {
				dirs = append(dirs, strings.TrimSpace(string(out)))
			}
		}
	}
	if s.Path != "" {
		if p := lookIn(s.Path, "pg_ctl"); p != "" {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	for _, g := range s.Globs {
		matches, _ := filepath.Glob(g)
		slices.SortStableFunc(matches, func(a, b string) int { return -compareVersions(a, b) })
		dirs = append(dirs, matches...)
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		key := d
		if real, err := filepath.EvalSymlinks(d); err == nil {
			key = real
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}

// lookIn finds an executable name in a PATH-style list; a name containing a
// slash is taken as a path.
func lookIn(pathList, name string) string {
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name
		}
		return ""
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// inspect checks that dir holds the server binaries and asks pg_ctl for its
// version.
func inspect(ctx context.Context, dir string) (*Server, error) {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if !isExecutable(filepath.Join(dir, name)) {
			return nil, fmt.Errorf("%s has no %s", dir, name)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, filepath.Join(dir, "pg_ctl"), "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s/pg_ctl --version: %w", dir, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("%s/pg_ctl --version: unexpected output %q", dir, bytes.TrimSpace(out))
	}
	srv := &Server{BinDir: dir, Version: string(m[1]), Major: string(m[1])}
	if len(m[2]) > 0 {
		srv.Version += "." + string(m[2])
		if n, _ := strconv.Atoi(string(m[1])); n < 10 {
			srv.Major = srv.Version
		}
	}
	return srv, nil
}

// compareVersions orders paths by the numbers they contain, so that
// /usr/lib/postgresql/15/bin sorts after /usr/lib/postgresql/9.6/bin.
func compareVersions(a, b string) int {
	na, nb := numbersIn(a), numbersIn(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] != nb[i] {
			if na[i] < nb[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(na) < len(nb):
		return -1
	case len(na) > len(nb):
		return 1
	}
	return strings.Compare(a, b)
}

var numRE = regexp.MustCompile(`\d+`)

func numbersIn(s string) []int {
	var out []int
	for _, m := range numRE.FindAllString(s, -1) {
		n, _ := strconv.Atoi(m)
		out = append(out, n)
	}
	return out
}
