// Package migrate applies hdi's embedded goose migrations. Concurrent runs
// are safe: goose's PostgreSQL advisory-lock session locker serialises them.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	migrations "github.com/hdi-dev/hdi/goose"
	"github.com/hdi-dev/hdi/internal/dbconn"
)

// VersionTable is where goose records the applied migrations.
const VersionTable = "hdi_schema_migrations"

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	db       *sql.DB
	closeFn  func() // closes what Open opened beside db
	provider *goose.Provider
}

// Options tune a Migrator.
type Options struct {
	// FS overrides the embedded migrations (tests).
	FS fs.FS
	// NoLock disables the advisory lock (for servers that allow one connection).
	NoLock bool
	// Logger receives one line per applied migration (nil: silent).
	Logger *slog.Logger

	goMigrations []*goose.Migration // River's (Open adds it for the embedded migrations)
}

// Open connects to url and prepares the migrations.
func Open(ctx context.Context, url string, opts Options) (*Migrator, error) {
	cfg, err := dbconn.PoolConfig(url)
	if err != nil {
		return nil, err
	}
	// goose holds one connection through a run and records a Go
	// migration (River's) on another.
	cfg.MaxConns = max(cfg.MaxConns, 2)
	pool, err := dbconn.OpenConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	if opts.FS == nil {
		opts.goMigrations = []*goose.Migration{riverMigration(cfg)}
	}
	m, err := New(db, opts)
	if err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	m.closeFn = pool.Close
	return m, nil
}

// New prepares the migrations on an open database handle.
func New(db *sql.DB, opts Options) (*Migrator, error) {
	fsys := opts.FS
	if fsys == nil {
		fsys = migrations.FS
	}
	popts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithTableName(VersionTable)}
	if len(opts.goMigrations) > 0 {
		popts = append(popts, goose.WithGoMigrations(opts.goMigrations...))
	}
	if !opts.NoLock {
		// Wait up to 5 minutes (1s x 300) for another hdi's migration to finish.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	if opts.Logger != nil {
		popts = append(popts, goose.WithSlog(opts.Logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, popts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

// Close releases the database handle.
func (m *Migrator) Close() error {
	err := m.db.Close()
	if m.closeFn != nil {
		m.closeFn()
	}
	return err
}

// Result is one applied (or rolled back) migration.
type Result struct {
	Version   int64         `json:"version"`
	Name      string        `json:"name"`
	Direction string        `json:"direction"`
	Duration  time.Duration `json:"duration_ns"`
}

func results(rs []*goose.MigrationResult) []Result {
	out := make([]Result, 0, len(rs))
	for _, r := range rs {
		out = append(out, Result{Version: r.Source.Version, Name: sourceName(r.Source), Direction: r.Direction, Duration: r.Duration})
	}
	return out
}

// sourceName names a migration: its file, or the Go migration's name.
func sourceName(s *goose.Source) string {
	if s.Path == "" {
		return goNames[s.Version]
	}
	return path.Base(s.Path)
}

func wrap(op string, err error) error {
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Failed != nil {
		return fmt.Errorf("migrate %s: %s failed: %w", op, sourceName(pe.Failed.Source), pe.Err)
	}
	return fmt.Errorf("migrate %s: %w", op, err)
}

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]Result, error) {
	rs, err := m.provider.Up(ctx)
	if err != nil {
		return results(rs), wrap("up", err)
	}
	return results(rs), nil
}

// Down rolls back the latest applied migration.
func (m *Migrator) Down(ctx context.Context) ([]Result, error) {
	r, err := m.provider.Down(ctx)
	if err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return nil, nil
		}
		return nil, wrap("down", err)
	}
	return results([]*goose.MigrationResult{r}), nil
}

// DownTo rolls back every migration above version (0: all of them).
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]Result, error) {
	rs, err := m.provider.DownTo(ctx, version)
	if err != nil {
		return results(rs), wrap("down", err)
	}
	return results(rs), nil
}

// Redo rolls back the latest migration and applies it again.
func (m *Migrator) Redo(ctx context.Context) ([]Result, error) {
	down, err := m.Down(ctx)
	if err != nil {
		return down, err
	}
	if len(down) == 0 {
		return nil, errors.New("migrate redo: no migration is applied; run `hdi migrate up`")
	}
	up, err := m.provider.UpByOne(ctx)
	if err != nil {
		return down, wrap("redo", err)
	}
	return append(down, results([]*goose.MigrationResult{up})...), nil
}

// Status is one migration and whether it is applied.
type Status struct {
	Version   int64      `json:"version"`
	Name      string     `json:"name"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// Status lists every embedded migration with its state.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	ss, err := m.provider.Status(ctx)
	if err != nil {
		return nil, wrap("status", err)
	}
	out := make([]Status, 0, len(ss))
	for _, s := range ss {
		st := Status{Version: s.Source.Version, Name: sourceName(s.Source), Applied: s.State == goose.StateApplied}
		if st.Applied {
			at := s.AppliedAt
			st.AppliedAt = &at
		}
		out = append(out, st)
	}
	return out, nil
}

// Versions returns the applied version and the latest embedded one.
func (m *Migrator) Versions(ctx context.Context) (current, latest int64, err error) {
	current, latest, err = m.provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, wrap("version", err)
	}
	return current, latest, nil
}

// ErrBehind is returned by Check when migrations are pending.
var ErrBehind = errors.New("database schema is behind")

// Check fails with ErrBehind, saying what to run, when the database is not
// at the latest embedded migration.
func (m *Migrator) Check(ctx context.Context) error {
	current, latest, err := m.Versions(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("%w: it is at migration %d, this hdi needs %d; run `hdi migrate up`", ErrBehind, current, latest)
	}
	if current > latest {
		return fmt.Errorf("database schema is at migration %d, newer than this hdi knows (%d): upgrade hdi", current, latest)
	}
	return nil
}

// Latest returns the newest embedded migration version.
func Latest() (int64, error) {
	entries, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	latest := int64(riverVersion)
	for _, e := range entries {
		v, err := goose.NumericComponent(e)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", e, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// Querier is what CheckSchema needs of a connection or pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CheckSchema is Check on an open connection, without goose: it compares
// the highest applied migration with the latest embedded one.
func CheckSchema(ctx context.Context, q Querier) error {
	latest, err := Latest()
	if err != nil {
		return err
	}
	var current int64
	err = q.QueryRow(ctx, `SELECT CASE WHEN to_regclass($1) IS NULL THEN 0
		ELSE (SELECT coalesce(max(version_id), 0) FROM `+VersionTable+` WHERE is_applied) END`, VersionTable).Scan(&current)
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	switch {
	case current < latest:
		return fmt.Errorf("%w: it is at migration %d, this hdi needs %d; run `hdi migrate up`", ErrBehind, current, latest)
	case current > latest:
		return fmt.Errorf("database schema is at migration %d, newer than this hdi knows (%d): upgrade hdi", current, latest)
	}
	return nil
}

// OpenPool connects a pool with cfg (dbconn.OpenConfig) and checks that the
// database's schema is current (CheckSchema); on failure it closes the pool.
func OpenPool(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := dbconn.OpenConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// TimescaleVersion is the migration that makes the market tables
// hypertables with compression and the roll-ups continuous aggregates
// (00005_timescaledb.sql). On a server without TimescaleDB it does nothing.
const TimescaleVersion = 5

// ErrNoTimescale is returned by Timescale when the server cannot load
// TimescaleDB.
var ErrNoTimescale = errors.New("TimescaleDB is not available on this server")

// Timescale converts a database migrated without TimescaleDB, once the
// extension is installed: it applies migration 00005 again (its down, then
// its up, in the migration lock), which creates the extension, turns every
// market table into a compressed hypertable with its rows, and replaces the
// roll-up views with continuous aggregates. It returns the hypertables; a
// database already converted is left as it is.
func (m *Migrator) Timescale(ctx context.Context) ([]Result, []string, error) {
	current, _, err := m.Versions(ctx)
	if err != nil {
		return nil, nil, err
	}
	if current < TimescaleVersion {
		return nil, nil, fmt.Errorf("migrate timescale: the database is at migration %d: run `hdi migrate up` first", current)
	}
	var available, loaded bool
	if err := m.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')`).Scan(&available, &loaded); err != nil {
		return nil, nil, fmt.Errorf("migrate timescale: %w", err)
	}
	if !available {
		return nil, nil, fmt.Errorf("%w: install the TimescaleDB package for this PostgreSQL, add timescaledb to shared_preload_libraries, restart the server, then run `hdi migrate timescale` again", ErrNoTimescale)
	}
	if loaded {
		if hts, err := m.hypertables(ctx); err != nil || len(hts) > 0 {
			return nil, hts, err
		}
	}
	var rs []Result
	for _, up := range []bool{false, true} {
		r, err := m.provider.ApplyVersion(ctx, TimescaleVersion, up)
		if r != nil {
			rs = append(rs, results([]*goose.MigrationResult{r})...)
		}
		if err != nil {
			return rs, nil, wrap("timescale", err)
		}
	}
	hts, err := m.hypertables(ctx)
	if err != nil {
		return rs, nil, err
	}
	if len(hts) == 0 {
		return rs, nil, fmt.Errorf("%w: the extension is installed but did not load (is timescaledb in shared_preload_libraries? is hdi.timescaledb off in the connection?): the tables are still plain", ErrNoTimescale)
	}
	return rs, hts, nil
}

// hypertables lists the hypertables of the current schema.
func (m *Migrator) hypertables(ctx context.Context) ([]string, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT hypertable_name::text FROM timescaledb_information.hypertables
		WHERE hypertable_schema = current_schema() ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list hypertables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
