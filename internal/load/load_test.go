package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

var sprintf = fmt.Sprintf

func TestCopyPathAndLedger(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u, err := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if err != nil {
		t.Fatal(err)
	}
	rej := make([]bool, 1000)
	rej[5], rej[6] = true, true
	c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(1000, 7, 0)), rej)
	if err != nil || c != (Counts{Inserted: 998}) {
		t.Fatalf("WriteBatch = %+v, %v", c, err)
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades`); n != 998 {
		t.Fatalf("rows = %d", n)
	}
	// exact values, time column from ts_recv, char side, nulls
	var ts time.Time
	var side *string
	var price *int64
	var ds string
	if err := bn.pool.QueryRow(ctx, `SELECT ts, side, price, dataset FROM trades WHERE sequence = 3`).Scan(&ts, &side, &price, &ds); err != nil {
		t.Fatal(err)
	}
	if want := base.Add(3 * time.Microsecond); !ts.Equal(want) || side == nil || *side != "A" || price != nil || ds != "XNAS.ITCH" {
		t.Fatalf("row 3: ts=%v side=%v price=%v ds=%s", ts, side, price, ds)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT price FROM trades WHERE sequence = 4`); n != 4_500_250_000_004 {
		t.Fatalf("price = %d", n)
	}
	var status string
	var rl int64
	if err := bn.pool.QueryRow(ctx, `SELECT status, rows_inserted FROM units WHERE unit_key = 'u1'`).Scan(&status, &rl); err != nil || status != "done" || rl != 998 {
		t.Fatalf("ledger: %s %d %v", status, rl, err)
	}
	if done, err := Done(ctx, bn.pool, "u1", "trades"); !done || err != nil {
		t.Fatalf("Done = %v, %v", done, err)
	}
	if _, err := BeginUnit(ctx, bn.pool, bn.unit("u1")); !errors.Is(err, ErrAlreadyDone) {
		t.Fatalf("re-run: %v, want ErrAlreadyDone", err)
	}
	// The ledger is per target table: the same unit into another table loads.
	if _, err := bn.pool.Exec(ctx, `CREATE TABLE trades_copy (LIKE trades INCLUDING ALL)`); err != nil {
		t.Fatal(err)
	}
	if done, err := Done(ctx, bn.pool, "u1", "trades_copy"); done || err != nil {
		t.Fatalf("Done into trades_copy = %v, %v", done, err)
	}
	info := bn.unit("u1")
	info.Table = "trades_copy"
	u, err = BeginUnit(ctx, bn.pool, info)
	if err != nil {
		t.Fatalf("the same unit into another table: %v", err)
	}
	if _, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(10, 7, 0)), nil); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, Counts{Inserted: 10}); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades_copy`); n != 10 {
		t.Fatalf("trades_copy has %d rows", n)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM units WHERE unit_key = 'u1' AND status = 'done'`); n != 2 {
		t.Fatalf("%d done ledger rows for u1, want one per table", n)
	}
}

func TestDuplicateBatchOnlyTakesFallback(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	// rows 0..499 already loaded by an earlier (overlapping) unit
	u0, _ := BeginUnit(ctx, bn.pool, bn.unit("u0"))
	if _, err := u0.WriteBatch(ctx, bn.apply(t, tradesBatch(500, 7, 0)), nil); err != nil {
		t.Fatal(err)
	}
	if err := u0.Commit(ctx, u0.Counts()); err != nil {
		t.Fatal(err)
	}

	u, err := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if err != nil {
		t.Fatal(err)
	}
	// clean batch
	if c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(300, 8, 0)), nil); err != nil || c != (Counts{Inserted: 300}) {
		t.Fatalf("clean: %+v %v", c, err)
	}
	// overlapping batch: 400..899, 100 duplicates
	if c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(500, 7, 400)), nil); err != nil || c != (Counts{Inserted: 400, Deduplicated: 100}) {
		t.Fatalf("dup: %+v %v", c, err)
	}
	// another clean batch after the fallback
	if c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(200, 9, 0)), nil); err != nil || c != (Counts{Inserted: 200}) {
		t.Fatalf("clean 2: %+v %v", c, err)
	}
	// a batch duplicated within itself and with the table: the second fallback reuses the staging table
	if c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(10, 9, 195)), nil); err != nil || c != (Counts{Inserted: 5, Deduplicated: 5}) {
		t.Fatalf("dup 2: %+v %v", c, err)
	}
	st := u.Stats()
	if st.CopyBatches != 2 || st.FallbackBatches != 2 {
		t.Fatalf("stats = %+v, want 2 plain COPY and 2 fallback batches", st)
	}
	c := u.Counts()
	if c.Inserted != 905 || c.Deduplicated != 105 {
		t.Fatalf("counts = %+v", c)
	}
	if err := u.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades`); n != 500+905 {
		t.Fatalf("rows = %d", n)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT rows_deduplicated FROM units WHERE unit_key = 'u1'`); n != 105 {
		t.Fatalf("ledger dedup = %d", n)
	}
}

func TestConflictUpdate(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u0, _ := BeginUnit(ctx, bn.pool, bn.unit("u0"))
	if _, err := u0.WriteBatch(ctx, bn.apply(t, tradesBatch(10, 7, 0)), nil); err != nil {
		t.Fatal(err)
	}
	_ = u0.Commit(ctx, u0.Counts())
	// Rows 0..2 stay as loaded; 3..9 change; 10..19 are new.
	if _, err := bn.pool.Exec(ctx, `UPDATE trades SET size = 0 WHERE sequence >= 3`); err != nil {
		t.Fatal(err)
	}
	info := bn.unit("u1")
	info.ConflictUpdate = true
	u, err := BeginUnit(ctx, bn.pool, info)
	if err != nil {
		t.Fatal(err)
	}
	c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(20, 7, 0)), nil)
	if err != nil || c != (Counts{Inserted: 10, Updated: 7, Unchanged: 3}) {
		t.Fatalf("upsert: %+v %v", c, err)
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades WHERE size = 0`); n != 0 {
		t.Fatalf("rows not corrected: %d still size 0", n)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades`); n != 20 {
		t.Fatalf("rows = %d", n)
	}
	var ins, upd, unch int64
	if err := bn.pool.QueryRow(ctx, `SELECT rows_inserted, rows_updated, rows_unchanged FROM units WHERE unit_key = 'u1'`).Scan(&ins, &upd, &unch); err != nil || ins != 10 || upd != 7 || unch != 3 {
		t.Fatalf("ledger counts %d/%d/%d, %v", ins, upd, unch, err)
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u, _ := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if _, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(100, 7, 0)), nil); err != nil {
		t.Fatal(err)
	}
	if err := u.Quarantine(ctx, []QuarantineRow{{Rule: "r", Message: "m", Record: []byte(`{"a":1}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := u.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT (SELECT count(*) FROM trades) + (SELECT count(*) FROM units) + (SELECT count(*) FROM quarantine)`); n != 0 {
		t.Fatalf("%d rows left after rollback", n)
	}
	// a failure recorded separately, then retried
	if err := RecordFailure(ctx, bn.pool, bn.unit("u1"), errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	if done, _ := Done(ctx, bn.pool, "u1", "trades"); done {
		t.Fatal("failed unit reported done")
	}
	u, err := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if err != nil {
		t.Fatalf("retry of failed unit: %v", err)
	}
	_, _ = u.WriteBatch(ctx, bn.apply(t, tradesBatch(10, 7, 0)), nil)
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	// a later failure never overwrites done
	_ = RecordFailure(ctx, bn.pool, bn.unit("u1"), errors.New("late"))
	if done, _ := Done(ctx, bn.pool, "u1", "trades"); !done {
		t.Fatal("done unit overwritten by failure")
	}
}

func TestStatementErrorMidUnit(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u, _ := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if _, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(100, 7, 0)), nil); err != nil {
		t.Fatal(err)
	}
	err := u.Exec(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO trades (ts) VALUES (now())`) // NOT NULL violation
		return err
	})
	if err == nil {
		t.Fatal("bad statement succeeded")
	}
	if err := u.Commit(ctx, u.Counts()); err == nil {
		t.Fatal("commit of an aborted transaction succeeded")
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT (SELECT count(*) FROM trades) + (SELECT count(*) FROM units)`); n != 0 {
		t.Fatalf("%d rows half-committed", n)
	}
}

func TestQuarantineKeepsRecords(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u, _ := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	rec := []byte(`{"ts_recv":1704205800000000123,"price":9223372036854775806,"side":"A","size":null}`)
	if err := u.Quarantine(ctx, []QuarantineRow{{Rule: "not_null_size, min_price", Severity: "error", Message: "size is null; price < 0", Record: rec}}); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	var price string
	var ts int64
	if err := bn.pool.QueryRow(ctx, `SELECT record->>'price', (record->>'ts_recv')::bigint FROM quarantine WHERE unit_key = 'u1' AND target_table = 'trades' AND rule LIKE '%min_price%'`).Scan(&price, &ts); err != nil {
		t.Fatal(err)
	}
	if price != "9223372036854775806" || ts != 1704205800000000123 {
		t.Fatalf("record not exact: %s %d", price, ts)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT rows_quarantined FROM units WHERE unit_key = 'u1'`); n != 1 {
		t.Fatalf("rows_quarantined = %d", n)
	}
}

// TestQuarantineStoresWhatJSONBCannotHold: jsonb holds no U+0000 and text
// no invalid UTF-8; a record or message with them is still quarantined
// (they show as U+FFFD), rather than failing the unit.
func TestQuarantineStoresWhatJSONBCannotHold(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u, _ := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	defer u.Rollback(ctx)
	rec := []byte(`{"raw":"a\u0000b\\u0000c\\\u0000"}`) // a NUL, a backslash and u0000, a backslash and a NUL
	if err := u.Quarantine(ctx, []QuarantineRow{{Rule: "source", Message: "f\xff.csv:1: a\x00b", Record: rec}}); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	var raw, msg string
	if err := bn.pool.QueryRow(ctx, `SELECT record->>'raw', message FROM quarantine`).Scan(&raw, &msg); err != nil {
		t.Fatal(err)
	}
	if raw != "a\ufffdb\\u0000c\\\ufffd" || msg != "f\ufffd.csv:1: a\ufffdb" {
		t.Fatalf("stored %q, %q", raw, msg)
	}
}

func TestReplaceRange(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u0, _ := BeginUnit(ctx, bn.pool, bn.unit("u0"))
	_, _ = u0.WriteBatch(ctx, bn.apply(t, tradesBatch(100, 7, 0)), nil)
	_, _ = u0.WriteBatch(ctx, bn.apply(t, tradesBatch(100, 8, 0)), nil)
	if err := u0.Commit(ctx, u0.Counts()); err != nil {
		t.Fatal(err)
	}
	// outside the unit's range: must survive
	if _, err := bn.pool.Exec(ctx, `INSERT INTO trades SELECT ts - interval '2 hours', ts_recv - 7200000000000, ts_event, dataset, instrument_id, side, price, size, sequence FROM trades WHERE instrument_id = 7 AND sequence < 10`); err != nil {
		t.Fatal(err)
	}
	info := bn.unit("u1")
	info.Mode = jobspec.ModeReplaceRange
	u, err := BeginUnit(ctx, bn.pool, info)
	if err != nil {
		t.Fatal(err)
	}
	// new data for instrument 7 only: 50 rows
	if c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(50, 7, 0)), nil); err != nil || c != (Counts{Inserted: 50}) {
		t.Fatalf("replace: %+v %v", c, err)
	}
	if u.Stats().Deleted != 100 || u.Stats().FallbackBatches != 0 {
		t.Fatalf("stats = %+v", u.Stats())
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades WHERE instrument_id = 7`); n != 60 {
		t.Fatalf("instrument 7: %d rows, want 50 new + 10 outside the range", n)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades WHERE instrument_id = 8`); n != 100 {
		t.Fatalf("instrument 8 (not in the new data) lost rows: %d", n)
	}
	// all symbols: the whole dataset range goes
	info = bn.unit("u2")
	info.Symbols = nil
	info.Mode = jobspec.ModeReplaceRange
	u, err = BeginUnit(ctx, bn.pool, info)
	if err != nil {
		t.Fatal(err)
	}
	if u.Stats().Deleted != 150 {
		t.Fatalf("deleted %d, want 150", u.Stats().Deleted)
	}
	_ = u.Rollback(ctx)
}

func TestConcurrentBeginUnit(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	u, err := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var err2 error
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(started)
		_, err2 = BeginUnit(ctx, bn.pool, bn.unit("u1"))
	}()
	<-started
	time.Sleep(200 * time.Millisecond) // the second waits on the advisory lock
	if _, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(100, 7, 0)), nil); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !errors.Is(err2, ErrAlreadyDone) {
		t.Fatalf("second BeginUnit: %v, want ErrAlreadyDone", err2)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades`); n != 100 {
		t.Fatalf("rows = %d", n)
	}
}

// TestRowsTheServerRefusesAreQuarantined: rows the mapping's checks cannot
// foresee (a CHECK constraint, a generated column's overflow) fail the
// server's COPY; the loader finds them, quarantines each with the server's
// message, and loads the rest, on the COPY path and on the dedupe path.
func TestRowsTheServerRefusesAreQuarantined(t *testing.T) {
	bn := setup(t)
	ctx := context.Background()
	if _, err := bn.pool.Exec(ctx, `ALTER TABLE trades ADD CONSTRAINT no_13 CHECK (size <> 13),
		ADD COLUMN tiny smallint GENERATED ALWAYS AS ((size * 400)::smallint) STORED`); err != nil {
		t.Fatal(err)
	}
	u, err := BeginUnit(ctx, bn.pool, bn.unit("u1"))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Rollback(ctx)
	// size = 1 + i%100: 13 breaks the CHECK, 82 and more overflow tiny.
	c, err := u.WriteBatch(ctx, bn.apply(t, tradesBatch(200, 7, 0)), nil)
	if err != nil || c != (Counts{Inserted: 160, Quarantined: 40}) {
		t.Fatalf("COPY path: %+v, %v", c, err)
	}
	// Sequences 150..249 with sizes 1..100: of 150..199, 150..180 are
	// stored (30 deduplicated; 162, now of size 13, is refused) and 181..199
	// are not; of 200..249, 19 overflow.
	c, err = u.WriteBatch(ctx, bn.apply(t, tradesBatch(100, 7, 150)), nil)
	if err != nil || c != (Counts{Inserted: 50, Deduplicated: 30, Quarantined: 20}) {
		t.Fatalf("dedupe path: %+v, %v", c, err)
	}
	if err := u.Commit(ctx, u.Counts()); err != nil {
		t.Fatal(err)
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT count(*) FROM trades`); n != 210 {
		t.Fatalf("%d rows stored, want 210", n)
	}
	rows, err := bn.pool.Query(ctx, `SELECT (record->>'size')::int, rule, message FROM quarantine ORDER BY quarantine_id`)
	if err != nil {
		t.Fatal(err)
	}
	type q struct {
		Size      int
		Rule, Msg string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[q])
	if err != nil || len(got) != 60 {
		t.Fatalf("%d quarantined rows, %v", len(got), err)
	}
	for _, r := range got {
		var want string
		switch {
		case r.Size == 13:
			want = `new row for relation "trades" violates check constraint "no_13"`
		case r.Size >= 82:
			want = `smallint out of range (SQLSTATE 22003)`
		}
		if r.Rule != RuleTable || want == "" || !strings.Contains(r.Msg, want) {
			t.Errorf("size %d: rule %q message %q, want %q", r.Size, r.Rule, r.Msg, want)
		}
	}
	if n := pgtest.Scalar[int64](t, bn.pool, `SELECT rows_quarantined FROM units WHERE unit_key = 'u1'`); n != 60 {
		t.Fatalf("ledger: %d quarantined", n)
	}
}
