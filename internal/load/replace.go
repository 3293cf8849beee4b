package load

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/mapping"
)

// Replace-range deletes, in the unit's transaction, before its rows go in:
//
//	DELETE FROM target
//	 WHERE dataset = <unit dataset>          -- when the table has a dataset column
//	   AND ts >= <unit start> AND ts < <unit end>   -- the time column (mapping.TimeColumn)
//	   AND instrument_id = ANY(<ids>)         -- see below
//
// The range is the unit's half-open [Start, End) on the table's time
// column (for Databento tables: ts_recv, or ts_event for bars; see
// mapping.TimeColumn). When the unit names symbols (not ALL_SYMBOLS) and the
// table has an instrument_id column, only the instruments that appear in
// the unit's new data are deleted, each just before its first batch is
// written; instruments absent from the new data keep their old rows. When
// the unit covers all symbols, the whole dataset range is deleted up front.
// Rows of the same key outside the range still dedupe (or update) as usual.

func (u *UnitTx) startReplace(ctx context.Context) error {
	if u.info.Start.IsZero() || u.info.End.IsZero() {
		return fmt.Errorf("load: unit %s: replace-range needs the unit's start and end (refusing to delete without a time range)", u.info.Key)
	}
	if _, ok := u.table.Column(mapping.TimeColumn); !ok {
		return fmt.Errorf("load: unit %s: replace-range: table %s has no time column %q to delete by", u.info.Key, u.info.Table, mapping.TimeColumn)
	}
	_, hasInst := u.table.Column("instrument_id")
	allSymbols := len(u.info.Symbols) == 0 || slices.Contains(u.info.Symbols, "ALL_SYMBOLS")
	if hasInst && !allSymbols {
		u.replaceIDs = map[int64]bool{}
		return nil
	}
	return u.deleteRange(ctx, nil)
}

func (u *UnitTx) deleteRange(ctx context.Context, ids []int64) error {
	sql := "DELETE FROM " + u.table.Ident().Sanitize() + " WHERE " + pgx.Identifier{mapping.TimeColumn}.Sanitize() + " >= $1 AND " +
		pgx.Identifier{mapping.TimeColumn}.Sanitize() + " < $2"
	args := []any{u.info.Start, u.info.End}
	if _, ok := u.table.Column(mapping.DatasetColumn); ok {
		args = append(args, u.info.Dataset)
		sql += fmt.Sprintf(" AND %s = $%d", pgx.Identifier{mapping.DatasetColumn}.Sanitize(), len(args))
	}
	if ids != nil {
		args = append(args, ids)
		sql += fmt.Sprintf(" AND instrument_id = ANY($%d)", len(args))
	}
	tag, err := u.tx.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("load: unit %s: replace-range delete from %s: %w", u.info.Key, u.info.Table, err)
	}
	u.stats.Deleted += tag.RowsAffected()
	u.noteDelete(ids)
	return nil
}

// replaceInstruments deletes the old rows of instruments seen for the first
// time in this unit.
func (u *UnitTx) replaceInstruments(ctx context.Context, b *mapping.Batch, rejected []bool) error {
	idx := b.Rec.Schema().FieldIndices("instrument_id")
	if idx == nil {
		return u.deleteOnce(ctx)
	}
	arr := b.Rec.Column(idx[0])
	var fresh []int64
	for i := 0; i < b.Len(); i++ {
		if (rejected != nil && rejected[i]) || arr.IsNull(i) {
			continue
		}
		var id int64
		switch a := arr.(type) {
		case *array.Uint32:
			id = int64(a.Value(i))
		case *array.Int64:
			id = a.Value(i)
		case *array.Int32:
			id = int64(a.Value(i))
		case *array.Uint64:
			id = int64(a.Value(i))
		default:
			return u.deleteOnce(ctx)
		}
		if !u.replaceIDs[id] {
			u.replaceIDs[id] = true
			fresh = append(fresh, id)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return u.deleteRange(ctx, fresh)
}

// deleteOnce falls back to deleting the whole range when instrument ids
// cannot be read.
func (u *UnitTx) deleteOnce(ctx context.Context) error {
	u.replaceIDs = nil
	return u.deleteRange(ctx, nil)
}
