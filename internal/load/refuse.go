package load

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/rules"
)

// Rows the table cannot hold.
//
// A value its column cannot hold must cost one quarantined row, never the
// unit. The mapping's checks leave most such rows out of the COPY before
// the server sees them (mapping.ValueError); the server is the last word
// for the rest: CHECK constraints, domains, foreign keys, anything the
// checks do not foresee. When it refuses a batch's data, the loader finds
// the rows by bisection, each try in a savepoint of the unit: the rows
// before the one the COPY's error context names (its "line"), that row
// alone, the rows after it; without a line, the halves. Each refused row
// is quarantined with the server's message, and every other row loads.

// RuleTable is the quarantine rule of a row the target table cannot hold.
const RuleTable = "table"

// copyError is a failed COPY, with the rows it sent, in order: the COPY's
// "line N" is the Nth of them.
type copyError struct {
	sent []int
	err  error
}

func (e *copyError) Error() string { return e.err.Error() }
func (e *copyError) Unwrap() error { return e.err }

// refused is the server's refusal of a row of the rows tried.
type refused struct {
	pg   *pgconn.PgError
	sent []int // the rows a failed COPY sent (nil: not known)
}

// refusal reports whether err is the server refusing a row's data: a data
// exception (class 22), or a NOT NULL, foreign-key, CHECK or exclusion
// constraint. A unique violation (23505) takes the staging path instead.
func refusal(err error) (refused, bool) {
	var pg *pgconn.PgError
	if err == nil || !errors.As(err, &pg) {
		return refused{}, false
	}
	switch {
	case strings.HasPrefix(pg.Code, "22"), pg.Code == "23502", pg.Code == "23503", pg.Code == "23514", pg.Code == "23P01":
	default:
		return refused{}, false
	}
	r := refused{pg: pg}
	var ce *copyError
	if errors.As(err, &ce) {
		r.sent = ce.sent
	}
	return r, true
}

// copyContext reads the COPY error context PostgreSQL adds: "COPY t, line
// 3, column price" (English messages only; elsewhere there is no hint).
var copyContext = regexp.MustCompile(`(?m)^COPY .*?, line (\d+)(?:, column ([^:\n]+))?`)

// bisect loads the rows cand (in row order) of which ref says the server
// refused one: each refused row is quarantined, every other row loads.
func (u *UnitTx) bisect(ctx context.Context, b *mapping.Batch, cand []int, ref refused) error {
	if len(cand) == 1 {
		return u.quarantineRefused(ctx, b, cand[0], ref.pg)
	}
	var pieces [][]int
	if m := copyContext.FindStringSubmatch(ref.pg.Where); m != nil && ref.sent != nil {
		if line, err := strconv.Atoi(m[1]); err == nil && line >= 1 && line <= len(ref.sent) {
			row := ref.sent[line-1]
			var before, after []int
			for _, i := range cand {
				switch {
				case i < row:
					before = append(before, i)
				case i > row:
					after = append(after, i)
				}
			}
			pieces = [][]int{before, {row}, after} // in row order: a later record of a key wins
		}
	}
	if pieces == nil {
		pieces = [][]int{cand[:len(cand)/2], cand[len(cand)/2:]}
	}
	for _, piece := range pieces {
		if len(piece) == 0 {
			continue
		}
		err := u.writeRows(ctx, b, only(b.Len(), piece))
		if r, ok := refusal(err); ok {
			err = u.bisect(ctx, b, piece, r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// quarantineRefused quarantines row i, which the server refused with pg.
func (u *UnitTx) quarantineRefused(ctx context.Context, b *mapping.Batch, i int, pg *pgconn.PgError) error {
	column := pg.ColumnName
	if m := copyContext.FindStringSubmatch(pg.Where); column == "" && m != nil {
		column = strings.TrimSpace(m[2])
	}
	msg := pg.Message
	if pg.Detail != "" {
		msg += ": " + pg.Detail
	}
	msg += " (SQLSTATE " + pg.Code + ")"
	if column != "" {
		msg = fmt.Sprintf("column %q: %s", column, msg)
	}
	return u.quarantineRows(ctx, b, []tableRow{{row: i, message: msg, field: b.Plan.Field(column)}})
}

// quarantineValues quarantines the rows the mapping's checks left out.
func (u *UnitTx) quarantineValues(ctx context.Context, b *mapping.Batch, bad []*mapping.ValueError) error {
	if len(bad) == 0 {
		return nil
	}
	rows := make([]tableRow, len(bad))
	for k, ve := range bad {
		rows[k] = tableRow{row: ve.Row, message: ve.Reason(), field: ve.Field}
	}
	return u.quarantineRows(ctx, b, rows)
}

// tableRow is a row of a batch the table cannot hold, and why.
type tableRow struct {
	row     int
	message string
	field   string
}

func (u *UnitTx) quarantineRows(ctx context.Context, b *mapping.Batch, rows []tableRow) error {
	q := make([]QuarantineRow, len(rows))
	for k, r := range rows {
		record, err := rules.RowJSON(b.Rec, r.row)
		if err != nil {
			return fmt.Errorf("load: unit %s: quarantine row %d: %w", u.info.Key, r.row, err)
		}
		q[k] = QuarantineRow{Rule: RuleTable, Severity: "error", Message: r.message, Field: r.field, Record: record}
	}
	return u.Quarantine(ctx, q)
}

// rowsOf lists the rows of n not marked in skip and not in bad (row order).
func rowsOf(n int, skip []bool, bad []*mapping.ValueError) []int {
	out := make([]int, 0, n)
	k := 0
	for i := range n {
		if skip != nil && skip[i] {
			continue
		}
		if k < len(bad) && bad[k].Row == i {
			k++
			continue
		}
		out = append(out, i)
	}
	return out
}

// withBad is skip with the rows of bad marked too.
func withBad(n int, skip []bool, bad []*mapping.ValueError) []bool {
	if len(bad) == 0 {
		return skip
	}
	out := make([]bool, n)
	copy(out, skip)
	for _, ve := range bad {
		out[ve.Row] = true
	}
	return out
}

// only is the skip mask of n rows that keeps just rows.
func only(n int, rows []int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	for _, i := range rows {
		out[i] = false
	}
	return out
}
