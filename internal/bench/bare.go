package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/plugins/databento/dbprov"
)

// bareCopy is the hand-written loader hdi is measured against: it decodes
// the DBN file itself and feeds one pgx CopyFrom with one []any per row,
// with the same column semantics as hdi's default mapping (Databento's field
// names, undefined sentinels and NUL characters as NULL, the time column from
// the provider's declared time field, dataset from the metadata), and no
// rules, plugin, Arrow, savepoints or ledger.
//
// With batch > 0 it instead copies batch rows per COPY, each in a savepoint,
// all in one transaction: hdi's loading pattern without hdi (a diagnostic).
func bareCopy(ctx context.Context, conn *pgx.Conn, path, table string, cols []string, batch int) (int64, error) {
	r, err := dbn.Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	src := &bareSource{r: r, vals: make([]any, len(cols))}
	if err := src.plan(cols); err != nil {
		return 0, err
	}
	if batch <= 0 {
		return conn.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var total int64
	for {
		sp, err := tx.Begin(ctx)
		if err != nil {
			return 0, err
		}
		n, err := sp.CopyFrom(ctx, pgx.Identifier{table}, cols, &limitSource{bareSource: src, left: batch})
		if err != nil {
			return 0, err
		}
		if err := sp.Commit(ctx); err != nil {
			return 0, err
		}
		total += n
		if n < int64(batch) {
			break
		}
	}
	return total, tx.Commit(ctx)
}

// limitSource yields at most left rows of a bareSource.
type limitSource struct {
	*bareSource
	left int
}

func (s *limitSource) Next() bool {
	if s.left <= 0 {
		return false
	}
	s.left--
	return s.bareSource.Next()
}

type bareSource struct {
	r    *dbn.Reader
	rt   *dbn.RecordType
	vals []any
	cols []func(rec []byte) any
}

func (s *bareSource) plan(cols []string) error {
	meta := s.r.Metadata()
	rt := meta.Schema.RecordType()
	if rt == nil {
		return fmt.Errorf("schema %s has no record type", meta.Schema)
	}
	s.rt = rt
	for _, c := range cols {
		f := rt.Field(c)
		switch {
		case f != nil:
			s.cols = append(s.cols, fieldValue(f))
		case c == mapping.TimeColumn:
			tf := rt.Field(dbprov.TimeField(meta.Schema))
			if tf == nil {
				return fmt.Errorf("no time source field for %s", meta.Schema)
			}
			s.cols = append(s.cols, func(rec []byte) any {
				if tf.IsUndef(rec) {
					return nil
				}
				return time.Unix(0, int64(tf.Raw(rec))).UTC()
			})
		case c == mapping.DatasetColumn:
			ds := meta.Dataset
			s.cols = append(s.cols, func([]byte) any { return ds })
		default: // ts_out and columns the stream does not fill
			s.cols = append(s.cols, func([]byte) any { return nil })
		}
	}
	return nil
}

func fieldValue(f *dbn.Field) func(rec []byte) any {
	switch {
	case f.Kind == dbn.KindChar:
		return func(rec []byte) any {
			if c := rec[f.Offset]; c != 0 {
				return string(rune(c))
			}
			return nil
		}
	case f.Wire == dbn.WireCString:
		return func(rec []byte) any { return string(f.CString(rec)) }
	}
	return func(rec []byte) any {
		if f.IsUndef(rec) {
			return nil
		}
		return f.Int(rec)
	}
}

func (s *bareSource) Next() bool { return s.r.Next() }

func (s *bareSource) Values() ([]any, error) {
	rec := s.r.RecordBytes()
	if dbn.LookupRType(s.r.RType()) != s.rt {
		return nil, fmt.Errorf("unexpected record type %s at byte %d", s.r.RType(), s.r.Offset())
	}
	for i, f := range s.cols {
		s.vals[i] = f(rec)
	}
	return s.vals, nil
}

func (s *bareSource) Err() error { return s.r.Err() }
