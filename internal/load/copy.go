package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/mapping"
)

// batchSource is a pgx.CopyFromSource over a mapped batch, skipping rejected
// rows and rows with a value their column cannot hold (kept in bad). It
// reuses one []any; the values point into the batch's readers. pgx reads
// it from its own goroutine, done when CopyFrom returns.
type batchSource struct {
	b        *mapping.Batch
	rejected []bool
	i        int
	vals     []any
	err      error
	bad      []*mapping.ValueError
}

func newSource(b *mapping.Batch, rejected []bool) *batchSource {
	return &batchSource{b: b, rejected: rejected, i: -1, vals: make([]any, len(b.Plan.Columns))}
}

func (s *batchSource) Next() bool {
	for s.i++; s.i < s.b.Len(); s.i++ {
		if s.rejected != nil && s.rejected[s.i] {
			continue
		}
		err := s.b.Values(s.i, s.vals)
		var ve *mapping.ValueError
		switch {
		case err == nil:
			return true
		case errors.As(err, &ve):
			s.bad = append(s.bad, ve)
		default:
			s.err = err
			return false
		}
	}
	return false
}

func (s *batchSource) Values() ([]any, error) { return s.vals, nil }

func (s *batchSource) Err() error { return s.err }

// CopySource returns the pgx.CopyFromSource the loader uses for a batch
// (rows with rejected[i] set are skipped; rejected may be nil).
func CopySource(b *mapping.Batch, rejected []bool) pgx.CopyFromSource { return newSource(b, rejected) }

// WriteBatch loads the batch's rows not marked in rejected (nil: none) into
// the target: plain COPY inside a savepoint; if that COPY hits a unique
// violation (23505), the savepoint is rolled back and this batch alone goes
// through the staging table with ON CONFLICT. A row the table cannot hold
// is quarantined (rule "table") and the others load: a value the mapping's
// checks find before the COPY (mapping.ValueError), or a row the server
// refuses (refused: a data exception, a NOT NULL, CHECK, foreign-key or
// exclusion constraint), found by bisection (see refuse.go). It adds to the
// unit's counts and returns what the batch did. Any other error fails the
// unit: roll it back.
func (u *UnitTx) WriteBatch(ctx context.Context, b *mapping.Batch, rejected []bool) (Counts, error) {
	if u.done {
		return Counts{}, fmt.Errorf("load: unit %s: already finished", u.info.Key)
	}
	n := b.Len()
	for _, r := range rejected {
		if r {
			n--
		}
	}
	if n == 0 {
		return Counts{}, nil
	}
	if u.replaceIDs != nil {
		if err := u.replaceInstruments(ctx, b, rejected); err != nil {
			return Counts{}, err
		}
	}
	before := u.counts
	err := u.writeRows(ctx, b, rejected)
	if ref, ok := refusal(err); ok {
		err = u.bisect(ctx, b, rowsOf(b.Len(), rejected, nil), ref)
	}
	if err != nil {
		return Counts{}, err
	}
	return u.counts.minus(before), nil
}

// writeRows loads the rows not marked in skip, all or none, in a savepoint
// of the unit: COPY, or the staging path when the COPY hits the unique key.
// Rows whose values their columns cannot hold are left out and quarantined.
// A refused row (see refusal) rolls the savepoint back and is returned.
func (u *UnitTx) writeRows(ctx context.Context, b *mapping.Batch, skip []bool) error {
	sp, err := u.tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("load: unit %s: savepoint: %w", u.info.Key, err)
	}
	copied, bad, err := copyBatch(ctx, sp, u.table.Ident(), b, skip)
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("load: unit %s: release savepoint: %w", u.info.Key, err)
		}
		u.stats.CopyBatches++
		u.tallyBatch(b, withBad(b.Len(), skip, bad))
		u.counts.Inserted += copied
		return u.quarantineValues(ctx, b, bad)
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return fmt.Errorf("load: unit %s: copy into %s: %w (and rollback to savepoint: %v)", u.info.Key, u.info.Table, err, rerr)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return &copyError{sent: rowsOf(b.Len(), skip, bad), err: fmt.Errorf("load: unit %s: copy into %s: %w", u.info.Key, u.info.Table, err)}
	}
	if len(u.table.UniqueKey) == 0 {
		return fmt.Errorf("load: unit %s: %s: unique violation but no unique key found to resolve it on: %w", u.info.Key, u.info.Table, err)
	}
	// The staging path in a savepoint of its own: its INSERT may be refused.
	if sp, err = u.tx.Begin(ctx); err != nil {
		return fmt.Errorf("load: unit %s: savepoint: %w", u.info.Key, err)
	}
	staged := u.staged
	c, bad, err := u.viaStaging(ctx, sp, b, skip)
	if err != nil {
		u.staged = staged // the staging table as it was before the savepoint
		if rerr := sp.Rollback(ctx); rerr != nil {
			return fmt.Errorf("%w (and rollback to savepoint: %v)", err, rerr)
		}
		return err
	}
	if err := sp.Commit(ctx); err != nil {
		return fmt.Errorf("load: unit %s: release savepoint: %w", u.info.Key, err)
	}
	u.stats.FallbackBatches++
	u.counts.Add(c)
	return u.quarantineValues(ctx, b, bad)
}

// stagingTable is the per-transaction staging table (dropped at commit).
const stagingTable = "hdi_stage"

// viaStaging copies the batch into the staging table and moves it into the
// target with INSERT ... ON CONFLICT, in tx (a savepoint of the unit). It
// returns the rows left out of the copy as the COPY path does.
func (u *UnitTx) viaStaging(ctx context.Context, tx pgx.Tx, b *mapping.Batch, rejected []bool) (Counts, []*mapping.ValueError, error) {
	cols := b.Plan.Columns
	wrap := u.stagingError
	colList := quoteList(cols)
	if u.staged == nil || !slices.Equal(u.staged, cols) {
		sql := "DROP TABLE IF EXISTS pg_temp." + stagingTable + "; CREATE TEMP TABLE " + stagingTable +
			" ON COMMIT DROP AS SELECT " + colList + " FROM " + u.table.Ident().Sanitize() + " WITH NO DATA"
		if _, err := tx.Exec(ctx, sql); err != nil {
			return Counts{}, nil, wrap("create staging table", err)
		}
		u.staged = cols
	} else if _, err := tx.Exec(ctx, "TRUNCATE pg_temp."+stagingTable); err != nil {
		return Counts{}, nil, wrap("truncate staging table", err)
	}
	n, bad, err := copyBatch(ctx, tx, pgx.Identifier{"pg_temp", stagingTable}, b, rejected)
	if err != nil {
		return Counts{}, nil, wrap("copy into staging table", err)
	}
	c, err := u.fromStaging(ctx, tx, cols, n)
	return c, bad, err
}

func (u *UnitTx) stagingError(what string, err error) error {
	return fmt.Errorf("load: unit %s: %s (dedupe path for %s): %w", u.info.Key, what, u.info.Table, err)
}

// fromStaging moves the n staged rows into the target.
func (u *UnitTx) fromStaging(ctx context.Context, tx pgx.Tx, cols []string, n int64) (Counts, error) {
	wrap := u.stagingError
	colList := quoteList(cols)
	key := quoteList(u.table.UniqueKey)
	target := u.table.Ident().Sanitize()
	if !u.info.ConflictUpdate {
		insert := "INSERT INTO " + target + " (" + colList + ") SELECT " + colList +
			" FROM pg_temp." + stagingTable + " ON CONFLICT (" + key + ") DO NOTHING"
		if u.cov != nil {
			// Count what it inserted, per instrument and day (coverage).
			rows, err := tx.Query(ctx, "WITH w AS ("+insert+" RETURNING instrument_id, ts) "+coveragePerDay("w"))
			if err != nil {
				return Counts{}, wrap("insert from staging", err)
			}
			inserted, err := u.tallyInserted(rows)
			if err != nil {
				return Counts{}, wrap("insert from staging", err)
			}
			return Counts{Inserted: inserted, Deduplicated: n - inserted}, nil
		}
		tag, err := tx.Exec(ctx, insert)
		if err != nil {
			return Counts{}, wrap("insert from staging", err)
		}
		return Counts{Inserted: tag.RowsAffected(), Deduplicated: n - tag.RowsAffected()}, nil
	}
	// DO UPDATE may touch a row once per statement: keep the last row of
	// each key within the batch (staging rows are in COPY order). A row
	// whose values are already stored is left alone and counted unchanged.
	var sets, olds, news []string
	for _, c := range cols {
		if !slices.Contains(u.table.UniqueKey, c) {
			q := pgx.Identifier{c}.Sanitize()
			sets = append(sets, q+" = EXCLUDED."+q)
			olds = append(olds, "t."+q)
			news = append(news, "EXCLUDED."+q)
		}
	}
	action := "DO NOTHING"
	if len(sets) > 0 {
		action = "DO UPDATE SET " + strings.Join(sets, ", ") +
			" WHERE (" + strings.Join(olds, ", ") + ") IS DISTINCT FROM (" + strings.Join(news, ", ") + ")"
	}
	with := "WITH s AS (SELECT DISTINCT ON (" + key + ") " + colList + " FROM pg_temp." + stagingTable +
		" ORDER BY " + key + ", ctid DESC), w AS (INSERT INTO " + target + " AS t (" + colList + ") SELECT " + colList +
		" FROM s ON CONFLICT (" + key + ") " + action + " RETURNING xmax = 0 AS inserted"
	var distinct, inserted, updated int64
	if u.cov != nil {
		// What it inserted per instrument and day (coverage), then a row of
		// the distinct keys and the updated count.
		rows, err := tx.Query(ctx, with+", instrument_id, ts), i AS (SELECT * FROM w WHERE inserted) "+
			coveragePerDay("i")+" UNION ALL SELECT -1, (SELECT count(*) FROM s), count(*), now(), now() FROM w WHERE NOT inserted")
		if err != nil {
			return Counts{}, wrap("upsert from staging", err)
		}
		if inserted, updated, distinct, err = u.tallyUpserted(rows); err != nil {
			return Counts{}, wrap("upsert from staging", err)
		}
	} else if err := tx.QueryRow(ctx, with+") SELECT (SELECT count(*) FROM s), count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w").Scan(&distinct, &inserted, &updated); err != nil {
		return Counts{}, wrap("upsert from staging", err)
	}
	return Counts{Inserted: inserted, Updated: updated, Unchanged: distinct - inserted - updated, Deduplicated: n - distinct}, nil
}

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}
