package query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/output"
)

// OpenRows prepares q on conn, binds values (with the dataset FillDataset
// picks) and runs it, asking for the result formats output.Write decodes
// fastest. A rowLimit above 0 sets the query's row_limit parameter, when it
// has one. It may add to values.
func OpenRows(ctx context.Context, conn *pgx.Conn, q *Query, values map[string]any, rowLimit int64) (pgx.Rows, error) {
	p, args, err := bindLimited(ctx, conn, q, values, rowLimit)
	if err != nil {
		return nil, err
	}
	return p.Rows(ctx, args)
}

func bindLimited(ctx context.Context, conn *pgx.Conn, q *Query, values map[string]any, rowLimit int64) (*Prepared, []any, error) {
	p, err := Prepare(ctx, conn, q)
	if err != nil {
		return nil, nil, err
	}
	if err := FillDataset(ctx, conn, q, values); err != nil {
		return nil, nil, err
	}
	if rowLimit > 0 && q.Param("row_limit") != nil {
		values["row_limit"] = rowLimit
	}
	args, err := p.Bind(values)
	if err != nil {
		return nil, nil, err
	}
	return p, args, nil
}

// DatasetGuesses remembers, for each symbol list (and dataset asked for),
// the dataset picked for it and the symbology generation it was picked at
// (SymbologyGeneration: it grows with every committed change of
// symbol_mappings or definition, whichever process makes it). Open sends the
// query with the remembered dataset and the generation read in one round
// trip, and uses its rows only when the generation is still the same: the
// pick would be the same. (The two statements take their own READ
// COMMITTED snapshots, the generation's first, so the rows are never older
// than the generation checked; a change committed between the two is seen
// by the next request, as if this one had come just before it.) The zero value is ready; it is safe
// for concurrent use.
type DatasetGuesses struct {
	mu sync.Mutex
	m  map[string]datasetGuess
}

type datasetGuess struct {
	generation int64
	dataset    string
}

// maxGuesses bounds the symbol lists remembered (forgotten all at once).
const maxGuesses = 4096

func (g *DatasetGuesses) get(key string) (datasetGuess, bool) {
	if g == nil {
		return datasetGuess{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.m[key]
	return v, ok
}

func (g *DatasetGuesses) put(key string, v datasetGuess) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil || len(g.m) >= maxGuesses {
		g.m = map[string]datasetGuess{}
	}
	g.m[key] = v
}

// guessKey is what a pick depends on besides the database: the dataset
// asked for and the symbols (a symbol holds no comma; a dataset no NUL).
func guessKey(asked string, symbols []string) string {
	return asked + "\x00" + strings.Join(symbols, ",")
}

// Open resolves the query on conn (Resolve) and runs it, returning the
// query run and its rows (rowLimit as in OpenRows). The answer is the same
// as Resolve and OpenRows one after the other. The dataset pick (Datasets,
// SymbolDatasets) is remembered in guesses (which may be nil) with the
// symbology generation read before it; a request for the same symbols then
// sends the generation read and the query with that dataset in one pipeline
// (one round trip), and uses the rows when the generation has
// not moved. When it has (mappings or definitions changed since), the rows
// are dropped and the dataset is picked again. Errors are not remembered:
// a request that fails the pick reads it again each time. Back-adjusted and
// resampled bars, whose query depends on further reads, pick and complete
// the sequential way.
func (sq *SymbolQuery) Open(ctx context.Context, conn *pgx.Conn, guesses *DatasetGuesses, rowLimit int64) (*Query, pgx.Rows, error) {
	asked, symbols := sq.req.Dataset, sq.req.Symbols
	key := guessKey(asked, symbols)
	guess, known := guesses.get(key)
	if _, resampled := sq.resampled(); resampled || sq.adjusted() || !known {
		return sq.pickAndOpen(ctx, conn, guesses, key, rowLimit)
	}

	sq.Values["dataset"] = guess.dataset
	p, args, err := bindLimited(ctx, conn, sq.Query, sq.Values, rowLimit)
	if err != nil {
		return nil, nil, err
	}
	rec := &pipeline{conn: conn}
	_, _ = dbq.New(rec).SymbologyGeneration(ctx)
	rec.queue(p.sd, args, p.resultFormats())
	if rec.err != nil {
		return nil, nil, rec.err
	}
	rec.send(ctx)
	generation, err := dbq.New(rec).SymbologyGeneration(ctx)
	if err != nil {
		rec.close()
		return nil, nil, fmt.Errorf("read the symbology generation: %w", err)
	}
	if generation != guess.generation { // mappings or definitions changed: pick again
		if err := rec.drop(); err != nil {
			return nil, nil, fmt.Errorf("run query %s: %w", sq.Query.Name, err)
		}
		return sq.pickAndOpen(ctx, conn, guesses, key, rowLimit)
	}
	rows, err := rec.rows()
	if err != nil {
		return nil, nil, fmt.Errorf("run query %s: %w", sq.Query.Name, err)
	}
	return sq.Query, rows, nil
}

// pickAndOpen picks the dataset as Resolve does, remembers it under key
// with the generation read first, and opens the query. The generation is
// read before the pick (its own snapshot): the pick sees that state or a
// later one, and any change committed after it raises the generation the
// next request reads, so no request after the change uses this pick.
func (sq *SymbolQuery) pickAndOpen(ctx context.Context, conn *pgx.Conn, guesses *DatasetGuesses, key string, rowLimit int64) (*Query, pgx.Rows, error) {
	var generation int64
	if guesses != nil {
		var err error
		if generation, err = dbq.New(conn).SymbologyGeneration(ctx); err != nil {
			return nil, nil, fmt.Errorf("read the symbology generation: %w", err)
		}
	}
	dataset, err := PickDataset(ctx, conn, sq.req.Dataset, sq.req.Symbols)
	if err != nil {
		return nil, nil, err
	}
	guesses.put(key, datasetGuess{generation: generation, dataset: dataset})
	return sq.openPicked(ctx, conn, dataset, rowLimit)
}

// openPicked completes the query for dataset (complete) and runs it.
func (sq *SymbolQuery) openPicked(ctx context.Context, conn *pgx.Conn, dataset string, rowLimit int64) (*Query, pgx.Rows, error) {
	if err := sq.complete(ctx, conn, dataset); err != nil {
		return nil, nil, err
	}
	rows, err := OpenRows(ctx, conn, sq.Query, sq.Values, rowLimit)
	return sq.Query, rows, err
}

// resultFormats are the result formats of the statement's columns as
// output.ResultFormats asks for them (text for the rest).
func (p *Prepared) resultFormats() []int16 {
	f := make([]int16, len(p.Fields))
	for i, fd := range p.Fields {
		f[i] = output.ResultFormats[fd.DataTypeOID] // TextFormatCode is 0
	}
	return f
}

// errQueued is what pipeline answers a query it queues.
var errQueued = errors.New("queued in a pipeline")

// pipeline sends several statements in one round trip (one pgconn batch).
// As a dbq.DBTX it first queues each query it is asked (answering
// errQueued), then, once sent, answers each query with the next result, in
// order: the same dbq calls made twice, queueing then reading, use sqlc's
// SQL and its row scanning. Only Query and QueryRow are served.
type pipeline struct {
	dbq.DBTX // nil: the other methods are not served
	conn     *pgx.Conn
	batch    pgconn.Batch
	mrr      *pgconn.MultiResultReader
	eqb      pgx.ExtendedQueryBuilder
	err      error
}

func (p *pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if p.mrr == nil {
		sd, err := p.conn.Prepare(ctx, dbqStatementName(sql), sql)
		if err != nil {
			p.err = err
			return nil, err
		}
		p.queue(sd, args, nil)
		return nil, errQueued
	}
	return p.next()
}

// QueryRow serves dbq's :one queries as Query does: queued, then read.
func (p *pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	return pipelineRow{rows: rows, err: err}
}

// pipelineRow is one row of a pipeline's result, as pgx.Conn.QueryRow's.
type pipelineRow struct {
	rows pgx.Rows
	err  error
}

func (r pipelineRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// dbqNames are the statement names of dbq's SQL (a few constants).
var dbqNames sync.Map

func dbqStatementName(sql string) string {
	if n, ok := dbqNames.Load(sql); ok {
		return n.(string)
	}
	sum := sha256.Sum256([]byte(sql))
	n := "hdi_dbq_" + hex.EncodeToString(sum[:8])
	dbqNames.Store(sql, n)
	return n
}

// next are the next result's rows.
func (p *pipeline) next() (pgx.Rows, error) {
	if !p.mrr.NextResult() {
		if err := p.close(); err != nil {
			return nil, err
		}
		return nil, errors.New("the pipeline returned fewer results than it was sent queries")
	}
	return pgx.RowsFromResultReader(p.conn.TypeMap(), p.mrr.ResultReader()), nil
}

// queue adds a prepared statement with its arguments; formats nil asks for
// pgx's preferred result formats (what its Query would).
func (p *pipeline) queue(sd *pgconn.StatementDescription, args []any, formats []int16) {
	if p.err != nil {
		return
	}
	if p.err = p.eqb.Build(p.conn.TypeMap(), sd, args); p.err != nil {
		return
	}
	if formats == nil {
		// A copy: the batch keeps the slice to read the result by, and the
		// builder's next Build writes over its array.
		formats = slices.Clone(p.eqb.ResultFormats)
	}
	p.batch.ExecStatement(sd, p.eqb.ParamValues, p.eqb.ParamFormats, formats)
}

func (p *pipeline) send(ctx context.Context) { p.mrr = p.conn.PgConn().ExecBatch(ctx, &p.batch) }

// close reads what is left and frees the connection; it returns the
// pipeline's first error (a statement's, or the connection's).
func (p *pipeline) close() error { return p.mrr.Close() }

// drop closes a pipeline whose last query was sent for a wrong guess: its
// error is not the request's, unless the connection is lost with it.
func (p *pipeline) drop() error {
	if err := p.close(); err != nil && p.conn.PgConn().IsClosed() {
		return err
	}
	return nil
}

// rows are the next result's rows; closing them finishes the pipeline.
func (p *pipeline) rows() (pgx.Rows, error) {
	rows, err := p.next()
	if err != nil {
		return nil, err
	}
	return &pipelineRows{Rows: rows, p: p}, nil
}

// pipelineRows are the last result of a pipeline: Close also reads the
// pipeline's end, and Err reports a fault there.
type pipelineRows struct {
	pgx.Rows
	p      *pipeline
	closed bool
	err    error
}

func (r *pipelineRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *pipelineRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	if err := r.p.close(); err != nil && r.Rows.Err() == nil {
		r.err = err
	}
}

func (r *pipelineRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

func (r *pipelineRows) Conn() *pgx.Conn { return r.p.conn }
