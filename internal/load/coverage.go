package load

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/mapping"
)

// Coverage: the rows a unit loads are counted per instrument and UTC day
// into coverage_daily, in the unit's transaction, so `coverage` and the
// web page's heat map read a small table instead of scanning the market
// tables. Rows COPY inserts are counted as they go; rows the dedupe path
// inserts are counted by the INSERT that inserts them (RETURNING); days a
// replace-range or --force deleted from are recounted from the table at
// commit. Tables without dataset, instrument_id and ts are not counted.

const nanosPerDay = int64(24 * time.Hour)

type covKey struct {
	id  int64
	day int64 // days since the epoch (UTC)
}

type covCount struct {
	rows        int64
	first, last int64 // ns
}

// coverage is one unit's tally.
type coverage struct {
	counts map[covKey]*covCount
	// recount: the days [from, to] (epoch days) a replacing unit deleted
	// from, for ids (nil: every instrument) or none (recount false).
	recount  bool
	from, to int64
	ids      map[int64]bool
}

// counted reports whether table gets coverage counts.
func counted(t mapping.TableInfo) bool {
	for _, c := range []string{mapping.DatasetColumn, "instrument_id", mapping.TimeColumn} {
		if _, ok := t.Column(c); !ok {
			return false
		}
	}
	return true
}

func (c *coverage) add(id, day, rows, first, last int64) {
	k := covKey{id, day}
	n := c.counts[k]
	if n == nil {
		c.counts[k] = &covCount{rows: rows, first: first, last: last}
		return
	}
	n.rows += rows
	n.first, n.last = min(n.first, first), max(n.last, last)
}

// tallyBatch counts the rows of a batch COPY inserted whole (rows marked in
// rejected were not). It reads the instrument and time columns a block at a
// time into plain int64s, and divides a time into its day only when a row
// leaves the run of the one before (rows come in runs of one instrument
// and day): the tally costs a compare or two per row.
func (u *UnitTx) tallyBatch(b *mapping.Batch, rejected []bool) {
	if u.cov == nil {
		return
	}
	idCol, ids := int64Column(b.Rec, "instrument_id")
	tsCol, ts := int64Column(b.Rec, b.Plan.TimeSource)
	if ids == nil || ts == nil {
		return
	}
	nulls := idCol.NullN() > 0 || tsCol.NullN() > 0
	var idv, tsv [tallyBlock]int64
	var cur *covCount
	var curID, dayStart, dayEnd int64
	n := b.Len()
	for from := 0; from < n; from += tallyBlock {
		m := min(tallyBlock, n-from)
		ids(idv[:m], from)
		ts(tsv[:m], from)
		for k := range m {
			i := from + k
			if (rejected != nil && rejected[i]) || (nulls && (idCol.IsNull(i) || tsCol.IsNull(i))) {
				continue
			}
			id, t := idv[k], tsv[k]
			if cur == nil || id != curID || t < dayStart || t >= dayEnd {
				day := floorDiv(t, nanosPerDay)
				key := covKey{id, day}
				if cur = u.cov.counts[key]; cur == nil {
					cur = &covCount{first: t, last: t}
					u.cov.counts[key] = cur
				}
				curID, dayStart, dayEnd = id, day*nanosPerDay, (day+1)*nanosPerDay
			}
			cur.rows++
			cur.first, cur.last = min(cur.first, t), max(cur.last, t)
		}
	}
}

// tallyBlock is how many rows tallyBatch reads at a time.
const tallyBlock = 512

// int64Column returns an integer or timestamp column of rec and a func
// copying its values [from, from+len(dst)) into dst as int64s (timestamps
// in nanoseconds); nil when rec has no such column of that name.
func int64Column(rec arrow.RecordBatch, name string) (arrow.Array, func(dst []int64, from int)) {
	if name == "" {
		return nil, nil
	}
	idx := rec.Schema().FieldIndices(name)
	if idx == nil {
		return nil, nil
	}
	col := rec.Column(idx[0])
	switch a := col.(type) {
	case *array.Int64:
		return col, func(dst []int64, from int) { copy(dst, a.Int64Values()[from:]) }
	case *array.Uint64:
		return col, func(dst []int64, from int) { widen(dst, a.Uint64Values()[from:]) }
	case *array.Uint32:
		return col, func(dst []int64, from int) { widen(dst, a.Uint32Values()[from:]) }
	case *array.Int32:
		return col, func(dst []int64, from int) { widen(dst, a.Int32Values()[from:]) }
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		mul := map[arrow.TimeUnit]int64{arrow.Second: 1e9, arrow.Millisecond: 1e6, arrow.Microsecond: 1e3, arrow.Nanosecond: 1}[unit]
		return col, func(dst []int64, from int) {
			for k, v := range a.TimestampValues()[from:][:len(dst)] {
				dst[k] = int64(v) * mul
			}
		}
	}
	return nil, nil
}

func widen[T uint64 | uint32 | int32](dst []int64, src []T) {
	for k := range dst {
		dst[k] = int64(src[k])
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// coveragePerDay aggregates the inserted rows (instrument_id, ts) of CTE
// from per instrument and UTC day, in the columns tallyInserted reads.
func coveragePerDay(from string) string {
	return "SELECT instrument_id, floor(extract(epoch FROM ts) / 86400)::bigint, count(*), min(ts), max(ts) FROM " + from +
		" WHERE instrument_id IS NOT NULL GROUP BY 1, 2"
}

// tallyInserted reads the per-day aggregate of rows the dedupe INSERT
// inserted (columns: instrument_id, epoch day, rows, first ts, last ts).
func (u *UnitTx) tallyInserted(rows pgx.Rows) (int64, error) {
	inserted, _, _, err := u.tallyUpserted(rows)
	return inserted, err
}

// tallyUpserted is tallyInserted for the upsert path, whose last row
// (instrument_id -1, which no instrument has) holds the distinct keys of
// the batch (in the day column) and the rows it updated.
func (u *UnitTx) tallyUpserted(rows pgx.Rows) (inserted, updated, distinct int64, err error) {
	defer rows.Close()
	for rows.Next() {
		var id, day, n int64
		var first, last time.Time
		if err := rows.Scan(&id, &day, &n, &first, &last); err != nil {
			return 0, 0, 0, err
		}
		if id == -1 {
			distinct, updated = day, n
			continue
		}
		u.cov.add(id, day, n, first.UnixNano(), last.UnixNano())
		inserted += n
	}
	return inserted, updated, distinct, rows.Err()
}

// noteDelete records that a replacing unit deleted [start, end) rows of ids
// (nil: every instrument): those days are recounted at commit.
func (u *UnitTx) noteDelete(ids []int64) {
	if u.cov == nil {
		return
	}
	c := u.cov
	from, to := floorDiv(u.info.Start.UnixNano(), nanosPerDay), floorDiv(u.info.End.UnixNano()-1, nanosPerDay)
	if !c.recount {
		c.recount, c.from, c.to = true, from, to
		if ids != nil {
			c.ids = map[int64]bool{}
		}
	}
	c.from, c.to = min(c.from, from), max(c.to, to)
	if ids == nil {
		c.ids = nil
	}
	for _, id := range ids {
		if c.ids != nil {
			c.ids[id] = true
		}
	}
}

// writeCoverage writes the unit's coverage: the replaced days recounted
// from the table, then the tally of every other day added.
func (u *UnitTx) writeCoverage(ctx context.Context) error {
	c := u.cov
	if c == nil {
		return nil
	}
	q := dbq.New(u.tx)
	table, dataset := u.info.Table, u.info.Dataset
	day := func(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }
	if c.recount {
		var ids []int64
		if c.ids != nil {
			ids = slices.Sorted(maps.Keys(c.ids))
		}
		if err := q.ClearCoverage(ctx, dbq.ClearCoverageParams{TableName: table, Dataset: dataset, FirstDay: day(c.from), LastDay: day(c.to), InstrumentIds: ids}); err != nil {
			return fmt.Errorf("load: unit %s: clear coverage: %w", u.info.Key, err)
		}
		sql := "INSERT INTO coverage_daily (table_name, dataset, instrument_id, day, row_count, first_ts, last_ts)" +
			" SELECT $1, dataset, instrument_id, (ts AT TIME ZONE 'UTC')::date, count(*), min(ts), max(ts) FROM " + u.table.Ident().Sanitize() +
			" WHERE dataset = $2 AND ts >= $3 AND ts < $4 AND instrument_id IS NOT NULL"
		args := []any{table, dataset, day(c.from), day(c.to + 1)}
		if ids != nil {
			sql += " AND instrument_id = ANY($5)"
			args = append(args, ids)
		}
		if _, err := u.tx.Exec(ctx, sql+" GROUP BY dataset, instrument_id, 4", args...); err != nil {
			return fmt.Errorf("load: unit %s: recount coverage: %w", u.info.Key, err)
		}
	}
	p := dbq.AddCoverageParams{TableName: table, Dataset: dataset}
	for k, n := range c.counts {
		if c.recount && k.day >= c.from && k.day <= c.to && (c.ids == nil || c.ids[k.id]) {
			continue // recounted above
		}
		p.InstrumentIds = append(p.InstrumentIds, k.id)
		p.Days = append(p.Days, day(k.day))
		p.RowCounts = append(p.RowCounts, n.rows)
		p.FirstTs = append(p.FirstTs, time.Unix(0, n.first).UTC())
		p.LastTs = append(p.LastTs, time.Unix(0, n.last).UTC())
	}
	if len(p.InstrumentIds) == 0 {
		return nil
	}
	if err := q.AddCoverage(ctx, p); err != nil {
		return fmt.Errorf("load: unit %s: write coverage: %w", u.info.Key, err)
	}
	return nil
}
