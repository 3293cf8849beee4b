package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/load"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/rules"
	"github.com/hdi-dev/hdi/internal/rules/arrowval"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// RetryResult tells what a quarantine retry did.
type RetryResult struct {
	Checked       int // quarantined records re-validated
	Loaded        int // now valid and loaded (inserted or updated)
	Deduplicated  int // now valid but already in the table
	StillRejected int // still failing the job's rules; left in quarantine
	Skipped       int // records the provider could not parse (rule "source"): fix the source and re-run the job
}

type quarantined struct {
	id      int64
	unitKey string
	table   string
	dataset string
	schema  string
	record  []byte
}

// RetryQuarantine re-validates the quarantined records of a run against the
// job's current rules and mapping, and loads those that now pass into the
// table they were meant for, marking them retried, in one transaction per
// unit. Records that still fail stay. The run's counts follow.
func (r *Runner) RetryQuarantine(ctx context.Context, job *jobspec.Job, runID int64) (RetryResult, error) {
	var res RetryResult
	rows, err := dbq.New(r.opts.Pool).QuarantineToRetry(ctx, runID)
	if err != nil {
		return res, fmt.Errorf("read quarantine of run %d: %w", runID, err)
	}
	byUnit := map[string][]quarantined{}
	var order []string
	for _, row := range rows {
		if row.Rule == "source" {
			res.Skipped++
			continue
		}
		q := quarantined{id: row.QuarantineID, unitKey: row.UnitKey, table: row.TargetTable, dataset: row.Dataset, schema: row.Schema, record: row.Record}
		if _, ok := byUnit[q.unitKey]; !ok {
			order = append(order, q.unitKey)
		}
		byUnit[q.unitKey] = append(byUnit[q.unitKey], q)
	}
	if len(order) == 0 {
		return res, nil
	}
	prov, err := r.opts.Open(ctx, job.Provider.Name)
	if err != nil {
		return res, err
	}
	desc, err := prov.Describe(ctx)
	if err != nil {
		return res, err
	}
	for _, key := range order {
		qs := byUnit[key]
		schemaName := qs[0].schema
		if job.Source.Schema != "" {
			schemaName = job.Source.Schema
		}
		stream, ok := desc.Stream(schemaName)
		if !ok || stream.Schema == nil {
			return res, fmt.Errorf("unit %s: provider %s has no fixed schema for stream %q, so its quarantined records cannot be rebuilt; re-run the job instead", key, job.Provider.Name, schemaName)
		}
		n, err := r.retryUnit(ctx, job, runID, stream, qs)
		res.Checked += len(qs)
		res.Loaded += n.Loaded
		res.Deduplicated += n.Deduplicated
		res.StillRejected += n.StillRejected
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *Runner) retryUnit(ctx context.Context, job *jobspec.Job, runID int64, stream sdk.Stream, qs []quarantined) (RetryResult, error) {
	var res RetryResult
	rec, err := recordsToBatch(stream.Schema, qs)
	if err != nil {
		return res, fmt.Errorf("unit %s: rebuild quarantined records: %w", qs[0].unitKey, err)
	}
	defer rec.Release()
	info, err := mapping.IntrospectTable(ctx, r.opts.Pool, qs[0].table)
	if err != nil {
		return res, err
	}
	dataset := qs[0].dataset
	if dataset == "" {
		dataset = job.Source.Dataset
	}
	p := &Planned{Job: job, Stream: stream, Table: info}
	plan, err := mapping.NewPlan(job.Mapping, p.source(dataset), info)
	if err != nil {
		return res, err
	}
	ropts := rules.Options{File: job.File, Stream: stream.Name}
	if job.DefaultRules == nil || *job.DefaultRules {
		ropts.Defaults = rules.FromSDK(stream.DefaultRules)
	}
	set, err := rules.Compile(job.Rules, stream.Schema, ropts)
	if err != nil {
		return res, err
	}
	checked, err := set.NewUnit(time.Time{}, time.Time{}).Check(rec)
	if err != nil {
		return res, err
	}
	res.StillRejected = len(checked.Rejections)
	var retried []int64
	for i, q := range qs {
		if checked.Rejected == nil || !checked.Rejected[i] {
			retried = append(retried, q.id)
		}
	}
	if len(retried) == 0 {
		return res, nil
	}
	ui := load.UnitInfo{
		Key:   fmt.Sprintf("quarantine-retry:%d:%s:%d", runID, qs[0].unitKey, time.Now().UnixNano()),
		RunID: runID, Provider: job.Provider.Name, Dataset: dataset, Schema: stream.Name, Table: info.Plain(),
		ConflictUpdate: p.ConflictUpdate(), TableInfo: &info,
	}
	tx, err := load.BeginUnit(ctx, r.opts.Pool, ui)
	if err != nil {
		return res, err
	}
	batch, err := plan.Apply(rec)
	if err == nil {
		_, err = tx.WriteBatch(ctx, batch, checked.Rejected)
	}
	c := tx.Counts()
	if err == nil {
		// A record the table still cannot hold is quarantined again, with
		// today's reason (rule "table"): it stays in the run's count.
		err = tx.Exec(ctx, func(t pgx.Tx) error {
			q := dbq.New(t)
			if err := q.MarkQuarantineRetried(ctx, retried); err != nil {
				return err
			}
			return q.AddRetriedRows(ctx, dbq.AddRetriedRowsParams{
				RunID: runID, RowsInserted: c.Inserted, RowsUpdated: c.Updated, RowsUnchanged: c.Unchanged,
				RowsDeduplicated: c.Deduplicated, RowsRetried: int64(len(retried)) - c.Quarantined,
			})
		})
	}
	if err == nil {
		res.Loaded, res.Deduplicated = int(c.Written()), int(c.Deduplicated+c.Unchanged)
		res.StillRejected += int(c.Quarantined)
		err = tx.Commit(ctx, c)
	}
	if err != nil {
		_ = tx.Rollback(ctx)
		return RetryResult{}, fmt.Errorf("unit %s: load retried records: %w", qs[0].unitKey, err)
	}
	return res, nil
}

// recordsToBatch rebuilds an Arrow batch from quarantined JSON records (as
// rules.RowJSON wrote them: exact integers, chars as one-letter strings).
func recordsToBatch(schema *arrow.Schema, qs []quarantined) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, q := range qs {
		dec := json.NewDecoder(bytes.NewReader(q.record))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("quarantine row %d: %w", q.id, err)
		}
		for i, f := range schema.Fields() {
			if err := appendJSON(b.Field(i), f, m[f.Name]); err != nil {
				return nil, fmt.Errorf("quarantine row %d: field %s: %w", q.id, f.Name, err)
			}
		}
	}
	return b.NewRecordBatch(), nil
}

func appendJSON(bld array.Builder, f arrow.Field, v any) error {
	if v == nil {
		bld.AppendNull()
		return nil
	}
	if s, ok := v.(string); ok && arrowval.IsChar(f) {
		if len(s) != 1 {
			return fmt.Errorf("want one character, got %q", s)
		}
		bld.(*array.Uint8Builder).Append(s[0])
		return nil
	}
	switch x := v.(type) {
	case json.Number:
		return appendNumber(bld, x)
	case string:
		switch b := bld.(type) {
		case *array.StringBuilder:
			b.Append(x)
			return nil
		case *array.Decimal128Builder: // exact decimal text
			dt := f.Type.(*arrow.Decimal128Type)
			n, err := decimal128.FromString(x, dt.Precision, dt.Scale)
			if err != nil {
				return err
			}
			b.Append(n)
			return nil
		}
	case bool:
		if bb, ok := bld.(*array.BooleanBuilder); ok {
			bb.Append(x)
			return nil
		}
	}
	return fmt.Errorf("cannot put %T into %s", v, f.Type)
}

func appendNumber(bld array.Builder, n json.Number) error {
	str := n.String()
	sint := func(bits int) (int64, error) { return strconv.ParseInt(str, 10, bits) }
	uint_ := func(bits int) (uint64, error) { return strconv.ParseUint(str, 10, bits) }
	var err error
	switch b := bld.(type) {
	case *array.Int64Builder:
		var v int64
		if v, err = sint(64); err == nil {
			b.Append(v)
		}
	case *array.Int32Builder:
		var v int64
		if v, err = sint(32); err == nil {
			b.Append(int32(v))
		}
	case *array.Int16Builder:
		var v int64
		if v, err = sint(16); err == nil {
			b.Append(int16(v))
		}
	case *array.Int8Builder:
		var v int64
		if v, err = sint(8); err == nil {
			b.Append(int8(v))
		}
	case *array.Uint64Builder:
		var v uint64
		if v, err = uint_(64); err == nil {
			b.Append(v)
		}
	case *array.Uint32Builder:
		var v uint64
		if v, err = uint_(32); err == nil {
			b.Append(uint32(v))
		}
	case *array.Uint16Builder:
		var v uint64
		if v, err = uint_(16); err == nil {
			b.Append(uint16(v))
		}
	case *array.Uint8Builder:
		var v uint64
		if v, err = uint_(8); err == nil {
			b.Append(uint8(v))
		}
	case *array.Float64Builder:
		var v float64
		if v, err = n.Float64(); err == nil {
			b.Append(v)
		}
	case *array.TimestampBuilder:
		var v int64
		if v, err = sint(64); err == nil {
			b.Append(arrow.Timestamp(v))
		}
	default:
		return fmt.Errorf("cannot put a number into %T", bld)
	}
	return err
}
