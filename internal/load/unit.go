// Package load writes mapped batches into PostgreSQL with COPY, one unit of
// work per transaction, idempotently.
//
// Each batch goes straight into the target table by COPY, inside a
// savepoint. Only a batch that hits a unique violation (SQLSTATE 23505) is
// rolled back to its savepoint and sent again through a temporary staging
// table and INSERT ... SELECT ... ON CONFLICT (unique key) DO NOTHING (or DO
// UPDATE for tables where corrections must win). The unit's ledger row is
// written in the same transaction as its data, under a per-unit advisory
// lock, so a re-run or a concurrent run skips finished units, and a failure
// leaves nothing behind.
package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/mapping"
)

// ErrAlreadyDone is returned by BeginUnit when the unit's ledger row says it
// is loaded (and Force is off): skip it.
var ErrAlreadyDone = errors.New("unit already loaded")

// UnitInfo identifies one unit of work and how to load it.
type UnitInfo struct {
	Key      string // unique across runs, e.g. job/dataset/schema/symbols/start
	RunID    int64  // runs.run_id
	Provider string
	Dataset  string
	Schema   string // provider schema, e.g. trades
	Table    string // target table, optionally schema-qualified
	Symbols  []string
	// Start and End are the unit's requested half-open time range.
	Start, End time.Time
	// Mode is jobspec.ModeDedupeAppend ("" too) or jobspec.ModeReplaceRange.
	Mode string
	// Force loads a unit whose ledger says done, replacing its range
	// (--force, and every unit of a replace-range run).
	Force bool
	// ConflictUpdate makes rows that collide on the unique key overwrite the
	// existing ones (definitions, statistics), instead of being skipped.
	ConflictUpdate bool
	// TableInfo, when set, saves BeginUnit its catalog queries.
	TableInfo *mapping.TableInfo
}

// Counts are a unit's row tallies, as written to its ledger row.
type Counts struct {
	Inserted     int64 // new rows
	Updated      int64 // stored rows a newer record changed (ConflictUpdate)
	Unchanged    int64 // records that arrived again with the stored values (ConflictUpdate)
	Deduplicated int64 // records whose key was already stored or repeated in a batch
	Quarantined  int64 // rows sent to the quarantine table
	Warned       int64 // loaded rows that failed a warn rule
}

// minus is what c counts beyond o.
func (c Counts) minus(o Counts) Counts {
	return Counts{
		Inserted: c.Inserted - o.Inserted, Updated: c.Updated - o.Updated, Unchanged: c.Unchanged - o.Unchanged,
		Deduplicated: c.Deduplicated - o.Deduplicated, Quarantined: c.Quarantined - o.Quarantined, Warned: c.Warned - o.Warned,
	}
}

// Written is the rows the unit inserted or changed.
func (c Counts) Written() int64 { return c.Inserted + c.Updated }

// Seen is every record the unit handled.
func (c Counts) Seen() int64 {
	return c.Inserted + c.Updated + c.Unchanged + c.Deduplicated + c.Quarantined
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Deduplicated += o.Deduplicated
	c.Quarantined += o.Quarantined
	c.Warned += o.Warned
}

// Stats tell how a unit's batches went.
type Stats struct {
	CopyBatches     int   // batches loaded by plain COPY
	FallbackBatches int   // batches that hit 23505 and went through staging
	Deleted         int64 // rows deleted by replace-range
}

// UnitTx is one unit's transaction. It is not safe for concurrent use.
type UnitTx struct {
	info    UnitInfo
	table   mapping.TableInfo
	tx      pgx.Tx
	started time.Time
	counts  Counts
	stats   Stats

	staged     []string // columns of the staging table, once created
	replaceIDs map[int64]bool
	cov        *coverage // nil: the table is not counted
	done       bool
}

// BeginUnit opens the unit's transaction and takes its advisory lock. When
// another run holds the lock, it waits; if the unit is then (or already)
// done, it returns ErrAlreadyDone, unless info.Force. In replace-range mode
// (or with Force) it deletes the unit's old rows first (see deleteRange).
func BeginUnit(ctx context.Context, pool *pgxpool.Pool, info UnitInfo) (*UnitTx, error) {
	if info.Key == "" || info.Table == "" {
		return nil, fmt.Errorf("load: unit needs a key and a target table")
	}
	u := &UnitTx{info: info, started: time.Now()}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("load: unit %s: begin: %w", info.Key, err)
	}
	u.tx = tx
	fail := func(err error) (*UnitTx, error) {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	q := dbq.New(tx)
	if err := q.LockUnit(ctx, dbq.LockUnitParams{UnitKey: info.Key, TargetTable: info.Table}); err != nil {
		return fail(fmt.Errorf("load: unit %s: lock: %w", info.Key, err))
	}
	if !info.Force {
		done, err := q.UnitDone(ctx, dbq.UnitDoneParams{UnitKey: info.Key, TargetTable: info.Table})
		if err != nil {
			return fail(fmt.Errorf("load: unit %s: read ledger (is the database migrated? run `hdi migrate up`): %w", info.Key, err))
		}
		if done {
			return fail(ErrAlreadyDone)
		}
	}
	if info.TableInfo != nil {
		u.table = *info.TableInfo
	} else if u.table, err = mapping.IntrospectTable(ctx, tx, info.Table); err != nil {
		return fail(fmt.Errorf("load: unit %s: %w", info.Key, err))
	}
	if counted(u.table) {
		u.cov = &coverage{counts: map[covKey]*covCount{}}
	}
	if u.replacing() {
		if err := u.startReplace(ctx); err != nil {
			return fail(err)
		}
	}
	return u, nil
}

// BeginLive opens the transaction of one commit of a live stream: the rows
// it received since the last commit, committed with its position by
// CommitWith. A live stream has no unit ledger and no unit lock (one
// process runs a stream: its own lock says so) and never replaces: rows
// it receives again after a reconnect are dropped by the unique key.
// info.TableInfo must be set.
func BeginLive(ctx context.Context, pool *pgxpool.Pool, info UnitInfo) (*UnitTx, error) {
	if info.TableInfo == nil || info.Key == "" {
		return nil, fmt.Errorf("load: a live commit needs a key and the target table's description")
	}
	info.Mode, info.Force = "", false
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("load: %s: begin: %w", info.Key, err)
	}
	u := &UnitTx{info: info, started: time.Now(), tx: tx, table: *info.TableInfo}
	if counted(u.table) {
		u.cov = &coverage{counts: map[covKey]*covCount{}}
	}
	return u, nil
}

// replacing reports whether the unit deletes its range before loading: in
// replace-range mode, or when forced and the unit has a time range. A forced
// unit without one (a file whose metadata has no end) reloads with
// deduplication: it cannot know which rows to delete.
func (u *UnitTx) replacing() bool {
	return u.info.Mode == jobspec.ModeReplaceRange || (u.info.Force && !u.info.Start.IsZero() && !u.info.End.IsZero())
}

// Counts returns the unit's tallies so far (pass them to Commit).
func (u *UnitTx) Counts() Counts { return u.counts }

// Stats returns how the unit's batches were loaded.
func (u *UnitTx) Stats() Stats { return u.stats }

// Table returns the target table's description.
func (u *UnitTx) Table() mapping.TableInfo { return u.table }

// Exec runs fn inside the unit's transaction (extra writers: symbology...).
func (u *UnitTx) Exec(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := fn(u.tx); err != nil {
		return fmt.Errorf("load: unit %s: %w", u.info.Key, err)
	}
	return nil
}

// Commit writes the unit's ledger row (status done, with c) in the unit's
// transaction and commits. Nothing of the unit is visible before.
func (u *UnitTx) Commit(ctx context.Context, c Counts) error {
	return u.CommitWith(ctx, func(tx pgx.Tx) error {
		if err := dbq.New(tx).RecordUnit(ctx, ledgerRow(u.info, "done", c, "", u.started)); err != nil {
			return fmt.Errorf("write ledger row: %w", err)
		}
		return nil
	})
}

// CommitWith writes the unit's coverage, then what ledger writes (a unit's
// ledger row, a live stream's position), in the unit's transaction, and
// commits.
func (u *UnitTx) CommitWith(ctx context.Context, ledger func(pgx.Tx) error) error {
	if u.done {
		return fmt.Errorf("load: unit %s: already finished", u.info.Key)
	}
	u.done = true
	if err := u.writeCoverage(ctx); err != nil {
		_ = u.tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ledger(u.tx); err != nil {
		_ = u.tx.Rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("load: unit %s: %w", u.info.Key, err)
	}
	if err := u.tx.Commit(ctx); err != nil {
		return fmt.Errorf("load: unit %s: commit: %w", u.info.Key, err)
	}
	return nil
}

// Rollback abandons the unit: none of its rows, quarantine rows or ledger
// row remain. Safe to call after Commit (it does nothing then).
func (u *UnitTx) Rollback(ctx context.Context) error {
	if u.done {
		return nil
	}
	u.done = true
	if err := u.tx.Rollback(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("load: unit %s: rollback: %w", u.info.Key, err)
	}
	return nil
}

// RecordFailure writes (upserts) a failed ledger row for a unit whose
// transaction was rolled back, so the run's report shows it and a re-run
// retries it. It never overwrites a done row.
func RecordFailure(ctx context.Context, pool *pgxpool.Pool, info UnitInfo, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	if err := dbq.New(pool).RecordUnit(ctx, ledgerRow(info, "failed", Counts{}, msg, time.Now())); err != nil {
		return fmt.Errorf("load: unit %s: record failure: %w", info.Key, err)
	}
	return nil
}

// Done reports whether the ledger says unit key is loaded into table.
func Done(ctx context.Context, pool *pgxpool.Pool, key, table string) (bool, error) {
	done, err := dbq.New(pool).UnitDone(ctx, dbq.UnitDoneParams{UnitKey: key, TargetTable: table})
	if err != nil {
		return false, fmt.Errorf("load: read ledger for unit %s: %w", key, err)
	}
	return done, nil
}

func ledgerRow(u UnitInfo, status string, c Counts, errMsg string, started time.Time) dbq.RecordUnitParams {
	r := dbq.RecordUnitParams{
		UnitKey: u.Key, RunID: u.RunID, Provider: u.Provider, TargetTable: u.Table, Symbols: slices.Clone(u.Symbols),
		Status: status, RowsInserted: c.Inserted, RowsUpdated: c.Updated, RowsUnchanged: c.Unchanged,
		RowsDeduplicated: c.Deduplicated, RowsQuarantined: c.Quarantined, RowsWarned: c.Warned, StartedAt: started,
	}
	if r.Symbols == nil {
		r.Symbols = []string{}
	}
	if u.Dataset != "" {
		r.Dataset = &u.Dataset
	}
	if u.Schema != "" {
		r.Schema = &u.Schema
	}
	if !u.Start.IsZero() {
		r.RangeStart = &u.Start
	}
	if !u.End.IsZero() {
		r.RangeEnd = &u.End
	}
	if errMsg != "" {
		r.Error = &errMsg
	}
	return r
}
