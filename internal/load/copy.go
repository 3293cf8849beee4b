package load

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/mapping"
)

// batchSource is a pgx.CopyFromSource over a mapped batch, skipping rejected
// rows. It reuses one []any; the values point into the batch's readers.
type batchSource struct {
	b        *mapping.Batch
	rejected []bool
	i        int
	vals     []any
}

func newSource(b *mapping.Batch, rejected []bool) *batchSource {
	return &batchSource{b: b, rejected: rejected, i: -1, vals: make([]any, len(b.Plan.Columns))}
}

func (s *batchSource) Next() bool {
	for s.i++; s.i < s.b.Len(); s.i++ {
		if s.rejected == nil || !s.rejected[s.i] {
			return true
		}
	}
	return false
}

func (s *batchSource) Values() ([]any, error) {
	return s.vals, s.b.Values(s.i, s.vals)
}

func (s *batchSource) Err() error { return nil }

// CopySource returns the pgx.CopyFromSource the loader uses for a batch
// (rows with rejected[i] set are skipped; rejected may be nil).
func CopySource(b *mapping.Batch, rejected []bool) pgx.CopyFromSource { return newSource(b, rejected) }

// WriteBatch loads the batch's rows not marked in rejected (nil: none) into
// the target: plain COPY inside a savepoint; if that COPY hits a unique
// violation (23505), the savepoint is rolled back and this batch alone goes
// through the staging table with ON CONFLICT. It returns the rows written
// and the rows deduplicated. Any other error fails the unit: roll it back.
func (u *UnitTx) WriteBatch(ctx context.Context, b *mapping.Batch, rejected []bool) (loaded, deduped int64, err error) {
	if u.done {
		return 0, 0, fmt.Errorf("load: unit %s: already finished", u.info.Key)
	}
	n := int64(b.Len())
	for _, r := range rejected {
		if r {
			n--
		}
	}
	if n == 0 {
		return 0, 0, nil
	}
	if u.replaceIDs != nil {
		if err := u.replaceInstruments(ctx, b, rejected); err != nil {
			return 0, 0, err
		}
	}
	sp, err := u.tx.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("load: unit %s: savepoint: %w", u.info.Key, err)
	}
	copied, err := copyBatch(ctx, sp, u.table.Ident(), b, rejected)
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return 0, 0, fmt.Errorf("load: unit %s: release savepoint: %w", u.info.Key, err)
		}
		u.stats.CopyBatches++
		u.counts.Loaded += copied
		return copied, 0, nil
	}
	if rerr := sp.Rollback(ctx); rerr != nil {
		return 0, 0, fmt.Errorf("load: unit %s: copy into %s: %w (and rollback to savepoint: %v)", u.info.Key, u.info.Table, err, rerr)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return 0, 0, fmt.Errorf("load: unit %s: copy into %s: %w", u.info.Key, u.info.Table, err)
	}
	if len(u.table.UniqueKey) == 0 {
		return 0, 0, fmt.Errorf("load: unit %s: %s: unique violation but no unique key found to resolve it on: %w", u.info.Key, u.info.Table, err)
	}
	loaded, deduped, err = u.viaStaging(ctx, b, rejected, n)
	if err != nil {
		return 0, 0, err
	}
	u.stats.FallbackBatches++
	u.counts.Loaded += loaded
	u.counts.Deduplicated += deduped
	return loaded, deduped, nil
}

// stagingTable is the per-transaction staging table (dropped at commit).
const stagingTable = "hdi_stage"

// viaStaging copies the batch into the staging table and moves it into the
// target with INSERT ... ON CONFLICT.
func (u *UnitTx) viaStaging(ctx context.Context, b *mapping.Batch, rejected []bool, n int64) (loaded, deduped int64, err error) {
	cols := b.Plan.Columns
	wrap := func(what string, err error) error {
		return fmt.Errorf("load: unit %s: %s (dedupe path for %s): %w", u.info.Key, what, u.info.Table, err)
	}
	colList := quoteList(cols)
	if u.staged == nil || !equalStrings(u.staged, cols) {
		sql := "DROP TABLE IF EXISTS pg_temp." + stagingTable + "; CREATE TEMP TABLE " + stagingTable +
			" ON COMMIT DROP AS SELECT " + colList + " FROM " + u.table.Ident().Sanitize() + " WITH NO DATA"
		if _, err := u.tx.Exec(ctx, sql); err != nil {
			return 0, 0, wrap("create staging table", err)
		}
		u.staged = cols
	} else if _, err := u.tx.Exec(ctx, "TRUNCATE pg_temp."+stagingTable); err != nil {
		return 0, 0, wrap("truncate staging table", err)
	}
	if _, err := copyBatch(ctx, u.tx, pgx.Identifier{"pg_temp", stagingTable}, b, rejected); err != nil {
		return 0, 0, wrap("copy into staging table", err)
	}
	key := quoteList(u.table.UniqueKey)
	target := u.table.Ident().Sanitize()
	if !u.info.ConflictUpdate {
		tag, err := u.tx.Exec(ctx, "INSERT INTO "+target+" ("+colList+") SELECT "+colList+
			" FROM pg_temp."+stagingTable+" ON CONFLICT ("+key+") DO NOTHING")
		if err != nil {
			return 0, 0, wrap("insert from staging", err)
		}
		return tag.RowsAffected(), n - tag.RowsAffected(), nil
	}
	// DO UPDATE may touch a row once per statement: keep the last row of
	// each key within the batch (staging rows are in COPY order).
	var sets []string
	for _, c := range cols {
		if !contains(u.table.UniqueKey, c) {
			q := pgx.Identifier{c}.Sanitize()
			sets = append(sets, q+" = EXCLUDED."+q)
		}
	}
	action := "DO NOTHING"
	if len(sets) > 0 {
		action = "DO UPDATE SET " + strings.Join(sets, ", ")
	}
	sql := "WITH w AS (INSERT INTO " + target + " (" + colList + ") SELECT DISTINCT ON (" + key + ") " + colList +
		" FROM pg_temp." + stagingTable + " ORDER BY " + key + ", ctid DESC ON CONFLICT (" + key + ") " + action +
		" RETURNING xmax = 0 AS inserted) SELECT count(*) FILTER (WHERE inserted), count(*) FROM w"
	var inserted, written int64
	if err := u.tx.QueryRow(ctx, sql).Scan(&inserted, &written); err != nil {
		return 0, 0, wrap("upsert from staging", err)
	}
	u.stats.Updated += written - inserted
	return written, n - written, nil
}

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
